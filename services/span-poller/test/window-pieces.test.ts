import { describe, expect, it } from "vitest";
import {
  assemblerWindows,
  InstantTooLargeError,
  retiredWindows,
  splitWindow,
  type WindowBounds,
} from "../src/window-pieces.js";
import type { SpanSizes } from "../src/window-planner.js";

/** Spans as (start time, bytes) pairs. */
function spans(...entries: [bigint, number][]): SpanSizes & { entries: [bigint, number][] } {
  const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    entries: sorted,
    bytesIn: (from, to) =>
      sorted.filter(([t]) => t >= from && t < to).reduce((sum, [, b]) => sum + b, 0),
    firstAtOrAfter: (t) => sorted.find(([s]) => s >= t)?.[0],
  };
}

const window: WindowBounds = { startNs: 1_000n, endNs: 2_000n, marginNs: 100n };
const OVERHEAD = 100;

/** Size of a piece's message as the splitter counts it. */
function sizeOf(s: SpanSizes, p: WindowBounds): number {
  return OVERHEAD + s.bytesIn(p.startNs - p.marginNs, p.endNs + p.marginNs);
}

/** Each span of the window is a member of exactly one piece, and pieces do not overlap. */
function membership(s: ReturnType<typeof spans>, pieces: WindowBounds[]): number[] {
  for (let i = 1; i < pieces.length; i++) {
    expect((pieces[i] as WindowBounds).startNs).toBeGreaterThanOrEqual(
      (pieces[i - 1] as WindowBounds).endNs,
    );
  }
  return s.entries
    .filter(([t]) => t >= window.startNs && t < window.endNs)
    .map(([t]) => pieces.filter((p) => t >= p.startNs && t < p.endNs).length);
}

describe("splitWindow", () => {
  it("keeps a window that fits as one piece", () => {
    const s = spans([1_000n, 500], [1_999n, 500]);
    expect(splitWindow(window, s, 10_000, OVERHEAD)).toEqual([window]);
  });

  it("cuts a grown window into pieces that each fit, every member in exactly one", () => {
    const entries: [bigint, number][] = [];
    for (let t = 900n; t < 2_100n; t += 10n) entries.push([t, 300]);
    const s = spans(...entries);
    const budget = 10_000;
    const pieces = splitWindow(window, s, budget, OVERHEAD);
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces[0]?.startNs).toBe(1_000n);
    // The last piece ends where the next span would not fit; no span starts after it.
    expect(pieces[pieces.length - 1]?.endNs).toBeGreaterThan(1_990n);
    for (const p of pieces) {
      expect(sizeOf(s, p)).toBeLessThanOrEqual(budget);
      expect(p.marginNs).toBe(100n);
    }
    expect(membership(s, pieces).every((n) => n === 1)).toBe(true);
    // Each piece ends as late as fits: one more nanosecond would not.
    const first = pieces[0] as WindowBounds;
    expect(sizeOf(s, { ...first, endNs: first.endNs + 10n })).toBeGreaterThan(budget);
  });

  it("leaves out stretches where no span starts", () => {
    const s = spans([1_000n, 3_000], [1_500n, 3_000], [1_900n, 3_000]);
    const pieces = splitWindow(window, s, 3_200, OVERHEAD);
    // A piece ends before the next span enters its right margin; the next starts at that
    // span, or where the rest of the window fits.
    expect(pieces.map((p) => [p.startNs, p.endNs])).toEqual([
      [1_000n, 1_400n],
      [1_500n, 1_800n],
      [1_800n, 2_000n],
    ]);
  });

  it("shrinks the margin of an instant whose spans fit only without all their context", () => {
    const s = spans([950n, 2_000], [1_000n, 2_000], [1_050n, 2_000]);
    const pieces = splitWindow(window, s, 4_200, OVERHEAD);
    expect(pieces[0]).toEqual({ startNs: 1_000n, endNs: 1_001n, marginNs: 49n });
    expect(pieces[1]).toEqual({ startNs: 1_050n, endNs: 1_051n, marginNs: 99n });
    expect(pieces).toHaveLength(2);
    expect(membership(s, pieces)).toEqual([1, 1]);
  });

  it("fails naming the instant when its spans alone exceed the budget", () => {
    const s = spans([1_200n, 3_000], [1_200n, 3_000]);
    expect(() => splitWindow(window, s, 5_000, OVERHEAD)).toThrowError(InstantTooLargeError);
    expect(() => splitWindow(window, s, 5_000, OVERHEAD)).toThrowError(/starting at 1200 .*6100/);
  });

  it("keeps one context-free piece when no span starts in the window any more", () => {
    const s = spans([950n, 6_000], [2_050n, 6_000]);
    expect(splitWindow(window, s, 5_000, OVERHEAD)).toEqual([{ ...window, marginNs: 0n }]);
  });
});

describe("retiredWindows", () => {
  const a: WindowBounds = { startNs: 1_000n, endNs: 1_400n, marginNs: 100n };
  const b: WindowBounds = { startNs: 1_400n, endNs: 2_000n, marginNs: 100n };

  it("retracts the window itself when it goes out in pieces, and the pieces when it is whole again", () => {
    const whole = assemblerWindows({ ...window, pieces: [] });
    expect(whole).toEqual([window]);
    expect(retiredWindows(whole, [a, b])).toEqual([window]);
    expect(retiredWindows(assemblerWindows({ ...window, pieces: [a, b] }), [window])).toEqual([
      a,
      b,
    ]);
  });

  it("keeps ids the new cut uses (whatever their margin) and names each retired id once", () => {
    const aNarrow = { ...a, marginNs: 10n };
    expect(retiredWindows([a, b, window, a], [aNarrow])).toEqual([b, window]);
    expect(retiredWindows([window], [window])).toEqual([]);
  });
});
