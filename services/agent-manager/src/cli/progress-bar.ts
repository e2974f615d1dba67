/** Steps of a deployment in order, for a per-host progress bar. */
export function deploySteps(start: boolean): string[] {
  return ["connect", "clone", "install", "sync_config", ...(start ? ["start"] : [])];
}

/** `[#####.....]` for done out of total, `width` characters wide. */
export function bar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? width : Math.round((Math.min(done, total) / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** Tracks each host's finished steps and renders one progress line per event. */
export class HostProgress {
  readonly #done = new Map<string, number>();
  readonly #width: number;

  constructor(
    private readonly steps: string[],
    hosts: string[],
  ) {
    this.#width = Math.max(8, ...hosts.map((h) => h.length));
  }

  line(
    agent: string,
    step: string,
    status: "started" | "succeeded" | "failed" | "skipped",
    message: string,
  ): string {
    let done = this.#done.get(agent) ?? 0;
    if (status === "succeeded") {
      const index = this.steps.indexOf(step);
      done = Math.max(done, index + 1);
      this.#done.set(agent, done);
    }
    const mark = { started: "...", succeeded: "ok", failed: "FAILED", skipped: "skipped" }[status];
    const detail = message ? ` ${message}` : "";
    return `${agent.padEnd(this.#width)} ${bar(done, this.steps.length)} ${done}/${this.steps.length} ${step} ${mark}${status === "started" ? "" : detail}`;
  }
}
