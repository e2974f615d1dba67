import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Samples `ps -eo args` of the whole machine (every host namespace shares its process
 * table) as fast as ps runs, until stopped: every command line seen, for checking that a
 * secret never appears in one.
 */
export class ProcessSampler {
  readonly lines = new Set<string>();
  samples = 0;
  #running = true;
  readonly #done: Promise<void>;

  constructor() {
    this.#done = this.#loop();
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const { stdout } = await run("ps", ["-eo", "args"], { maxBuffer: 16 * 1024 * 1024 });
      this.samples++;
      for (const line of stdout.split("\n")) this.lines.add(line);
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}
