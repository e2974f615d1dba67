import { describe, expect, it } from "vitest";
import { EGRESS, INGRESS, type SpanModel } from "../../src/engine/model.js";
import { requestScopedThreads } from "../../src/engine/thread-scope.js";

/**
 * Two processes, each serving 40 overlapping requests (one starting every 10 ns, each open
 * for 100 ns): process 0 runs each on a worker thread of its own (a pool of 12 reused
 * in turn), process 1 runs them all on one thread (an event loop). Egress spans on the
 * same threads are ignored by the measure.
 */
function model(): SpanModel {
  const perProcess = 40;
  const n = perProcess * 2 * 2;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const direction = new Uint8Array(n);
  const thread = new Uint32Array(n);
  const process = new Int32Array(n);
  let i = 0;
  for (let k = 0; k < perProcess; k++) {
    for (const p of [0, 1]) {
      start[i] = k * 10;
      end[i] = k * 10 + 100;
      direction[i] = INGRESS;
      thread[i] = p === 0 ? 100 + (k % 12) : 7;
      process[i] = p;
      i++;
      start[i] = k * 10 + 5;
      end[i] = k * 10 + 50;
      direction[i] = EGRESS;
      thread[i] = 7;
      process[i] = p;
      i++;
    }
  }
  return {
    n,
    start,
    end,
    direction,
    thread,
    process,
    counts: { process: 2 },
  } as unknown as SpanModel;
}

describe("requestScopedThreads", () => {
  it("tells a thread-per-request process (1) from an event loop (only its first request alone)", () => {
    const scoped = requestScopedThreads(model());
    expect(scoped[0]).toBe(1);
    expect(scoped[1]).toBe(1 / 40);
  });
});
