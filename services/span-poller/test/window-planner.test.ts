import { describe, expect, it } from "vitest";
import { alignDown, minBig } from "../src/clock.js";
import { type PlannerSettings, planWindow, type SpanSizes } from "../src/window-planner.js";

/** Spans as (start time, bytes) pairs, sorted. */
function spans(...entries: [bigint, number][]): SpanSizes {
  const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    bytesIn: (from, to) =>
      sorted.filter(([t]) => t >= from && t < to).reduce((sum, [, b]) => sum + b, 0),
    firstAtOrAfter: (t) => sorted.find(([s]) => s >= t)?.[0],
  };
}

const settings: PlannerSettings = {
  windowNs: 1_000n,
  marginNs: 100n,
  budgetBytes: 10_000,
  overheadBytes: 100,
};

describe("planWindow", () => {
  it("waits until the watermark passed the window end plus the right margin", () => {
    const s = spans([1_500n, 10]);
    expect(planWindow(1_000n, 2_099n, s, settings)).toEqual({ kind: "wait" });
    expect(planWindow(1_000n, 2_100n, s, settings)).toEqual({
      kind: "window",
      startNs: 1_000n,
      endNs: 2_000n,
      marginNs: 100n,
      bytes: 110,
    });
  });

  it("counts both margins into the message size", () => {
    const s = spans([950n, 10], [1_500n, 10], [2_050n, 10], [2_100n, 1_000]);
    const plan = planWindow(1_000n, 5_000n, s, settings);
    expect(plan).toMatchObject({ kind: "window", bytes: 130 });
  });

  it("skips a quiet period up to the window holding the next span, publishing nothing", () => {
    const s = spans([7_300n, 10]);
    expect(planWindow(1_000n, 20_000n, s, settings)).toEqual({ kind: "skip", endNs: 7_000n });
    expect(planWindow(7_000n, 20_000n, s, settings)).toMatchObject({
      kind: "window",
      startNs: 7_000n,
      endNs: 8_000n,
    });
  });

  it("skips only up to what the watermark allows when no span follows", () => {
    expect(planWindow(1_000n, 5_150n, spans(), settings)).toEqual({ kind: "skip", endNs: 5_000n });
  });

  it("shrinks a window that would not fit to the latest end that fits", () => {
    const s = spans([1_000n, 4_000], [1_200n, 4_000], [1_400n, 4_000], [1_600n, 4_000]);
    const plan = planWindow(1_000n, 5_000n, s, settings);
    // Members plus right margin: 1_000 and 1_200 fit (8_100 bytes); 1_400 would not.
    expect(plan).toEqual({
      kind: "window",
      startNs: 1_000n,
      endNs: 1_300n,
      marginNs: 100n,
      bytes: 8_100,
    });
  });

  it("realigns to the grid after a shrunk window", () => {
    const s = spans([1_400n, 4_000], [1_600n, 4_000]);
    expect(planWindow(1_300n, 5_000n, s, settings)).toMatchObject({
      kind: "window",
      startNs: 1_300n,
      endNs: 2_000n,
    });
  });

  it("starts a shrinking window at its first span so it is never empty", () => {
    const s = spans([1_500n, 6_000], [1_700n, 6_000]);
    expect(planWindow(1_000n, 5_000n, s, settings)).toEqual({ kind: "skip", endNs: 1_500n });
  });

  it("keeps thousands of spans sharing one timestamp together as members of one window", () => {
    const same = Array.from({ length: 3_000 }, () => [1_500n, 3] as [bigint, number]);
    const s = spans(...same, [1_501n, 2_000]);
    expect(planWindow(1_500n, 5_000n, s, settings)).toEqual({
      kind: "window",
      startNs: 1_500n,
      endNs: 1_501n,
      marginNs: 0n,
      bytes: 9_100,
    });
  });

  it("reports an instant whose spans alone exceed the budget", () => {
    const s = spans([1_000n, 6_000], [1_000n, 6_000]);
    expect(planWindow(1_000n, 5_000n, s, settings)).toEqual({
      kind: "too-large",
      startNs: 1_000n,
      bytes: 12_100,
    });
  });

  it("every span is a member of exactly one of consecutive planned windows", () => {
    const entries: [bigint, number][] = [];
    for (let i = 0n; i < 400n; i++) entries.push([1_000n + ((i * 7919n) % 9_000n), 150]);
    const s = spans(...entries);
    const members = new Map<bigint, number>();
    let start = alignDown(entries.map(([t]) => t).reduce(minBig), 1_000n);
    for (let guard = 0; guard < 1_000; guard++) {
      const plan = planWindow(start, 11_000n, s, settings);
      if (plan.kind === "wait") break;
      if (plan.kind === "too-large") throw new Error("unexpected");
      if (plan.kind === "window") {
        expect(plan.bytes).toBeLessThanOrEqual(settings.budgetBytes);
        for (const [t] of entries) {
          if (t >= plan.startNs && t < plan.endNs) members.set(t, (members.get(t) ?? 0) + 1);
        }
        start = plan.endNs;
      } else {
        start = plan.endNs;
      }
    }
    const expected = new Map<bigint, number>();
    for (const [t] of entries) expected.set(t, (expected.get(t) ?? 0) + 1);
    expect(members).toEqual(expected);
  });
});
