import type { WindowSummary } from "../windows/window-processor.js";

/** Counters of this instance since it started, as GetStats reports them. */
export class AssemblerStats {
  windowsProcessed = 0;
  spansProcessed = 0;
  tracesWritten = 0;
  redeliveries = 0;
  deadLetters = 0;
  private firstReceivedNs: bigint | undefined;
  private lastAckedNs: bigint | undefined;

  windowReceived(atNs: bigint): void {
    this.firstReceivedNs ??= atNs;
  }

  windowWritten(summary: WindowSummary, atNs: bigint): void {
    this.windowsProcessed++;
    this.spansProcessed += summary.spans;
    this.tracesWritten += summary.traces;
    this.lastAckedNs = atNs;
  }

  /** Spans of acknowledged windows over the wall time from the first receipt to the last ack. */
  spansPerSecond(): number {
    if (this.firstReceivedNs === undefined || this.lastAckedNs === undefined) return 0;
    const seconds = Number(this.lastAckedNs - this.firstReceivedNs) / 1e9;
    return seconds > 0 ? this.spansProcessed / seconds : 0;
  }
}
