import { describe, expect, it } from "vitest";
import { planBatches, shouldStop } from "../src/fleet/rollout-plan.js";
import { mapLimited, runFleet } from "../src/fleet/run-fleet.js";

type R = { agent: string; ok: boolean; skipped?: string; batch: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("rollout plan", () => {
  it("splits into batches, or one batch when the size is 0", () => {
    expect(planBatches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(planBatches([1, 2, 3], 0)).toEqual([[1, 2, 3]]);
    expect(planBatches([], 2)).toEqual([]);
  });

  it("stops only above the failure ratio, never with ratio 0", () => {
    expect(shouldStop(1, 2, 0.5)).toBe(false);
    expect(shouldStop(2, 3, 0.5)).toBe(true);
    expect(shouldStop(3, 3, 0)).toBe(false);
  });
});

describe("fleet runs", () => {
  it("never runs more than the concurrency limit at once, and a slow item blocks nobody", async () => {
    let running = 0;
    let peak = 0;
    const finished: number[] = [];
    await mapLimited([300, 10, 10, 10, 10, 10], 2, async (ms) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(ms);
      running--;
      finished.push(ms);
    });
    expect(peak).toBe(2);
    // The five quick ones finish while the slow one still runs.
    expect(finished.slice(0, 5)).toEqual([10, 10, 10, 10, 10]);
  });

  it("stops the rollout after a batch whose failures exceed the threshold and skips the rest", async () => {
    const agents = ["a", "b", "c", "d", "e", "f"];
    const attempted: string[] = [];
    const results = await runFleet<string, R>(
      agents,
      { concurrency: 4, batchSize: 2, maxFailureRatio: 0.4 },
      {
        run: async (agent, batch) => {
          attempted.push(agent);
          return { agent, ok: agent !== "c" && agent !== "d", batch };
        },
        skipped: (agent, batch, why) => ({ agent, ok: false, skipped: why, batch }),
      },
    );
    expect(attempted.sort()).toEqual(["a", "b", "c", "d"]);
    expect(results.map((r) => r.agent)).toEqual(agents);
    expect(results.map((r) => r.batch)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(results[4]?.skipped).toContain("rollout stopped after batch 2: 2 of 4 agents failed");
  });

  it("runs every batch when failures stay at or under the threshold", async () => {
    const results = await runFleet<string, R>(
      ["a", "b", "c", "d"],
      { concurrency: 1, batchSize: 2, maxFailureRatio: 0.5 },
      {
        run: async (agent, batch) => ({ agent, ok: agent !== "a", batch }),
        skipped: (agent, batch, why) => ({ agent, ok: false, skipped: why, batch }),
      },
    );
    expect(results.filter((r) => r.skipped)).toEqual([]);
  });

  it("skips the remaining batches once cancelled", async () => {
    const abort = new AbortController();
    const results = await runFleet<string, R>(
      ["a", "b"],
      { concurrency: 1, batchSize: 1, maxFailureRatio: 0 },
      {
        run: async (agent, batch) => {
          abort.abort();
          return { agent, ok: true, batch };
        },
        skipped: (agent, batch, why) => ({ agent, ok: false, skipped: why, batch }),
      },
      abort.signal,
    );
    expect(results[1]?.skipped).toBe("the operation was cancelled");
  });
});
