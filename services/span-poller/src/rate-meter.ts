/** Events per second over the last `spanMs` milliseconds. */
export class RateMeter {
  private total = 0;
  private readonly samples: { ms: number; total: number }[] = [];

  constructor(private readonly spanMs = 30_000) {}

  add(n: number, nowMs = Date.now()): void {
    if (this.samples.length === 0) this.samples.push({ ms: nowMs, total: 0 });
    this.total += n;
    this.samples.push({ ms: nowMs, total: this.total });
    while (
      this.samples.length > 2 &&
      (this.samples[1] as { ms: number }).ms < nowMs - this.spanMs
    ) {
      this.samples.shift();
    }
  }

  perSecond(nowMs = Date.now()): number {
    const base = this.samples.find((s) => s.ms >= nowMs - this.spanMs) ?? undefined;
    if (!base) return 0;
    const seconds = Math.max(1, (nowMs - base.ms) / 1000);
    return (this.total - base.total) / seconds;
  }
}
