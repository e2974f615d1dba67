import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const infra = fileURLToPath(new URL("../../../scripts/infra/", import.meta.url));
const cacheDir = process.env.DEEPTRACE_CACHE || join(homedir(), ".cache", "deeptrace");

/**
 * An Elasticsearch node of this test's own (scripts/infra with DEEPTRACE_ES_INSTANCE), on a
 * fixed port so it can be stopped and started again while the services keep its URL. The
 * shared node the other test files use is never touched.
 */
export class PrivateElasticsearch {
  constructor(
    readonly instance: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(): Promise<void> {
    return this.script("start-elasticsearch.sh");
  }

  stop(): Promise<void> {
    return this.script("stop-elasticsearch.sh");
  }

  /** Stops the node and deletes its data. */
  async discard(): Promise<void> {
    await this.stop();
    await rm(join(cacheDir, "elasticsearch", `node-${this.instance}`), {
      recursive: true,
      force: true,
    });
    await rm(join(cacheDir, "run", `elasticsearch-${this.instance}.lock`), { force: true });
  }

  private async script(name: string): Promise<void> {
    try {
      await run("bash", [join(infra, name)], {
        env: {
          ...process.env,
          DEEPTRACE_ES_INSTANCE: this.instance,
          DEEPTRACE_ES_PORT: String(this.port),
        },
        timeout: 300_000,
      });
    } catch (error) {
      const failure = error as { stderr?: string; message: string };
      throw new Error(`${name} for ${this.instance}: ${failure.stderr?.trim() || failure.message}`);
    }
  }
}
