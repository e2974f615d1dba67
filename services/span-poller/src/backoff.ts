/** Exponential back-off for retried Elasticsearch and NATS calls. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** Records a failure and returns how long to wait before the next attempt. */
  fail(): number {
    this.failures++;
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures - 1, 20));
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Resolves after ms, or as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
