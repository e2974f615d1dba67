import { describe, expect, it } from "vitest";
import { findCandidates } from "../../src/engine/candidates.js";
import { EGRESS, INGRESS, type SpanModel } from "../../src/engine/model.js";
import type { SpanTokens } from "../../src/engine/payload-tokens.js";

/**
 * One process, parents starting every 10 ns and open for 500 ns (about 50 open at once),
 * each followed by a child. Tokens: one unique per parent (a child carries the one of the
 * parent started 7 before it), one of 97 groups, and one shared by every parent (more open
 * parents than the index proposes). Enough parents that the token index is rebuilt many
 * times over.
 */
function workload(parents: number): { model: SpanModel; tokens: SpanTokens } {
  const n = parents * 2;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const direction = new Uint8Array(n);
  const thread = new Uint32Array(n);
  const lists: number[][] = [];
  const UNIQUE = 1_000_000;
  const GROUP = 2_000_000;
  const HOT = 3_000_000;
  for (let k = 0; k < parents; k++) {
    const g = 2 * k;
    start[g] = k * 10;
    end[g] = k * 10 + 500;
    direction[g] = INGRESS;
    lists[g] = [UNIQUE + k, GROUP + (k % 97), HOT];
    const c = g + 1;
    start[c] = k * 10 + 5;
    end[c] = k * 10 + 6;
    direction[c] = EGRESS;
    thread[c] = 1;
    lists[c] = [UNIQUE + Math.max(0, k - 7), GROUP + ((k + 3) % 97), HOT];
  }
  const offsets = new Int32Array(n + 1);
  const ids: number[] = [];
  const idf: number[] = [];
  const mass = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (const [t, token] of (lists[i] as number[]).entries()) {
      ids.push(token);
      idf.push(1 + t);
      mass[i] = (mass[i] as number) + 1 + t;
    }
    offsets[i + 1] = ids.length;
  }
  const model = {
    n,
    start,
    end,
    effectiveEnd: Float64Array.from(end),
    direction,
    thread,
    process: new Int32Array(n),
    downstream: new Int32Array(n),
    counts: { process: 1, downstream: 1 },
  } as unknown as SpanModel;
  return {
    model,
    tokens: { offsets, ids: Uint32Array.from(ids), idf: Float32Array.from(idf), mass },
  };
}

/** Brute force: open parents sharing a token open in at most `limit` parents, with the share. */
function expected(
  model: SpanModel,
  tokens: SpanTokens,
  child: number,
  limit: number,
): Map<number, number> {
  const s = model.start[child] as number;
  const open: number[] = [];
  for (let g = 0; g < child; g++) {
    if (model.direction[g] === INGRESS && (model.end[g] as number) >= s) open.push(g);
  }
  const share = new Map<number, number>();
  for (let t = tokens.offsets[child] as number; t < (tokens.offsets[child + 1] as number); t++) {
    const token = tokens.ids[t] as number;
    const holders = open.filter((g) => {
      for (let u = tokens.offsets[g] as number; u < (tokens.offsets[g + 1] as number); u++) {
        if (tokens.ids[u] === token) return true;
      }
      return false;
    });
    if (holders.length > limit) continue;
    const w = (tokens.idf[t] as number) / (tokens.mass[child] as number);
    // Accumulated as the engine does, in float32.
    for (const g of holders) share.set(g, Math.fround((share.get(g) ?? 0) + w));
  }
  return share;
}

describe("intra candidates through the token index", () => {
  it("proposes exactly the open parents sharing a transaction field, with their share, while the index is rebuilt", () => {
    const { model, tokens } = workload(12_000);
    const cand = findCandidates(model, tokens, 0);
    expect(cand.children.length).toBe(12_000);
    for (let c = 0; c < cand.children.length; c += 37) {
      const child = cand.children[c] as number;
      const got = new Map<number, number>();
      let fifo = 0;
      for (let o = cand.offsets[c] as number; o < (cand.offsets[c + 1] as number); o++) {
        if ((cand.fields[o] as number) > 0)
          got.set(cand.parents[o] as number, cand.fields[o] as number);
        fifo += cand.fifo[o] as number;
      }
      expect(got).toEqual(expected(model, tokens, child, 64));
      // Every child has a free containing parent, so FIFO's choice is among its candidates.
      expect(fifo).toBe(1);
    }
  });
});
