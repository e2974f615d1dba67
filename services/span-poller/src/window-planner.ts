import { alignDown, maxBig, minBig } from "./clock.js";
import { largest } from "./window-pieces.js";

/** What the planner needs to know about the spans read so far (all agents). */
export interface SpanSizes {
  /** Encoded size in bytes of the spans starting in [fromNs, toNs), as window members. */
  bytesIn(fromNs: bigint, toNs: bigint): number;
  /** Start time of the first span at or after t, if one was read. */
  firstAtOrAfter(tNs: bigint): bigint | undefined;
}

export interface PlannerSettings {
  /** Longest window; windows are cut on a grid of this length unless they must shrink. */
  windowNs: bigint;
  /** Context margin L on each side. */
  marginNs: bigint;
  /** Largest message, in bytes. */
  budgetBytes: number;
  /** Bytes of the message besides its spans (ids, times, agent names). */
  overheadBytes: number;
}

export type WindowPlan =
  /** The watermark has not passed the end of the next window plus its right margin. */
  | { kind: "wait" }
  /** No span starts in [start, endNs): move on without publishing anything. */
  | { kind: "skip"; endNs: bigint }
  | { kind: "window"; startNs: bigint; endNs: bigint; marginNs: bigint; bytes: number }
  /** Even the spans sharing the start time alone do not fit into one message. */
  | { kind: "too-large"; startNs: bigint; bytes: number };

/**
 * Plans the window that starts at `startNs`. A window [t0, t1) is due once the watermark
 * passed t1 + L (its right context is complete too). It normally ends at the next grid
 * point; when the message (members plus both margins) would exceed the budget, it ends at
 * the latest time that fits, and when even a window holding only the spans of one instant
 * does not fit, the margin shrinks (the message says which margin it has).
 */
export function planWindow(
  startNs: bigint,
  watermarkNs: bigint,
  spans: SpanSizes,
  settings: PlannerSettings,
): WindowPlan {
  const { windowNs, marginNs } = settings;
  const gridEnd = alignDown(startNs, windowNs) + windowNs;
  if (watermarkNs < gridEnd + marginNs) return { kind: "wait" };

  const first = spans.firstAtOrAfter(startNs);
  if (first === undefined || first >= gridEnd) {
    // Everything below the watermark has been read, so the gap up to the next span (or up
    // to what the watermark allows) is known to be empty.
    const target = minBig(first ?? watermarkNs - marginNs, watermarkNs - marginNs);
    const skipTo = alignDown(target, windowNs);
    return { kind: "skip", endNs: maxBig(skipTo, gridEnd) };
  }

  const size = (t1: bigint, margin: bigint) =>
    settings.overheadBytes + spans.bytesIn(startNs - margin, t1 + margin);
  const full = size(gridEnd, marginNs);
  if (full <= settings.budgetBytes) {
    return { kind: "window", startNs, endNs: gridEnd, marginNs, bytes: full };
  }
  // Shrinking: start the window at its first span, so it is never empty.
  if (first > startNs) return { kind: "skip", endNs: first };

  const fits = (t1: bigint) => size(t1, marginNs) <= settings.budgetBytes;
  if (fits(startNs + 1n)) {
    const t1 = largest(startNs + 1n, gridEnd, fits);
    return { kind: "window", startNs, endNs: t1, marginNs, bytes: size(t1, marginNs) };
  }
  const marginFits = (m: bigint) => size(startNs + 1n, m) <= settings.budgetBytes;
  if (!marginFits(0n)) return { kind: "too-large", startNs, bytes: size(startNs + 1n, 0n) };
  const margin = largest(0n, marginNs, marginFits);
  return {
    kind: "window",
    startNs,
    endNs: startNs + 1n,
    marginNs: margin,
    bytes: size(startNs + 1n, margin),
  };
}
