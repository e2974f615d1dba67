import { windowIdFor } from "./window-message.js";
import type { SpanSizes } from "./window-planner.js";

/** The event-time range of a message: members start in [startNs, endNs), context within the margin. */
export interface WindowBounds {
  startNs: bigint;
  endNs: bigint;
  marginNs: bigint;
}

/** The spans of one instant (margins left out) need more than one message may have. */
export class InstantTooLargeError extends Error {
  override name = "InstantTooLargeError";

  constructor(
    readonly startNs: bigint,
    readonly bytes: number,
    readonly budgetBytes: number,
  ) {
    super(
      `the spans starting at ${startNs} alone need ${bytes} bytes, more than the ` +
        `${budgetBytes} bytes a message may have; raise the NATS max_payload (and max_message_bytes)`,
    );
  }
}

/**
 * Cuts a window whose spans no longer fit into one message (a repair or replay that late
 * spans made larger) into consecutive pieces of its range [startNs, endNs), each with its
 * members and margins under the budget, the same way new windows are cut: a piece ends at
 * the latest time that fits, a stretch where no span starts is left out (it would assemble
 * nothing), and when one instant's spans plus margins do not fit, that piece's margin
 * shrinks. Every span starting in the window is a member of exactly one piece.
 */
export function splitWindow(
  window: WindowBounds,
  spans: SpanSizes,
  budgetBytes: number,
  overheadBytes: number,
): WindowBounds[] {
  const size = (from: bigint, to: bigint, margin: bigint) =>
    overheadBytes + spans.bytesIn(from - margin, to + margin);
  const { endNs, marginNs } = window;
  const pieces: WindowBounds[] = [];
  let start = window.startNs;
  while (start < endNs) {
    const first = spans.firstAtOrAfter(start);
    if (first === undefined || first >= endNs) break;
    if (size(start, endNs, marginNs) <= budgetBytes) {
      pieces.push({ startNs: start, endNs, marginNs });
      break;
    }
    if (first > start) {
      start = first;
      continue;
    }
    const fits = (t: bigint) => size(start, t, marginNs) <= budgetBytes;
    if (fits(start + 1n)) {
      const end = largest(start + 1n, endNs, fits);
      pieces.push({ startNs: start, endNs: end, marginNs });
      start = end;
      continue;
    }
    const marginFits = (m: bigint) => size(start, start + 1n, m) <= budgetBytes;
    if (!marginFits(0n)) {
      throw new InstantTooLargeError(start, size(start, start + 1n, 0n), budgetBytes);
    }
    pieces.push({ startNs: start, endNs: start + 1n, marginNs: largest(0n, marginNs, marginFits) });
    start += 1n;
  }
  // No span starts in the window any more: one piece without context, so the revision
  // still goes out (and replaces what earlier revisions assembled with nothing).
  if (pieces.length === 0) pieces.push({ startNs: window.startNs, endNs, marginNs: 0n });
  return pieces;
}

/** The largest x in [lo, hi] with ok(x), given ok(lo) and ok monotonically decreasing. */
export function largest(lo: bigint, hi: bigint, ok: (x: bigint) => boolean): bigint {
  let good = lo;
  let bad = hi + 1n;
  while (bad - good > 1n) {
    const mid = good + (bad - good) / 2n;
    if (ok(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/** The assembler windows a revision goes out as: the window itself, or its pieces. */
export function assemblerWindows(
  record: WindowBounds & { pieces: WindowBounds[] },
): WindowBounds[] {
  if (record.pieces.length > 0) return record.pieces;
  return [{ startNs: record.startNs, endNs: record.endNs, marginNs: record.marginNs }];
}

/**
 * The windows of `earlier` (by id) that `now` does not use: what they produced must be
 * retracted. Each id once, in the order first seen.
 */
export function retiredWindows(earlier: WindowBounds[], now: WindowBounds[]): WindowBounds[] {
  const seen = new Set(now.map((w) => windowIdFor(w.startNs, w.endNs)));
  const retired: WindowBounds[] = [];
  for (const w of earlier) {
    const id = windowIdFor(w.startNs, w.endNs);
    if (seen.has(id)) continue;
    seen.add(id);
    retired.push(w);
  }
  return retired;
}
