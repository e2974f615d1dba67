import { describe, expect, it } from "vitest";
import { TupleIds } from "../../src/engine/tuple-ids.js";

describe("TupleIds", () => {
  it("numbers tuples by first appearance, past growth and beyond 2^53", () => {
    const ids = new TupleIds();
    const U32 = 2 ** 32;
    const tuples: [number, number, number][] = [];
    for (let k = 0; k < 5000; k++) tuples.push([k % 700, (k * 7919) % 65536, U32]);
    // Exact keys beyond 2^53 (prefix x bound) take another path; they must not collide.
    tuples.push([2 ** 22, 5, U32], [2 ** 22, 6, U32], [3, 2 ** 22, 2 ** 40]);
    const expected = new Map<string, number>();
    const got = tuples.map(([prefix, value, bound]) => ids.id(prefix, value, bound));
    const want = tuples.map(([prefix, value]) => {
      const key = `${prefix},${value}`;
      if (!expected.has(key)) expected.set(key, expected.size);
      return expected.get(key);
    });
    expect(got).toEqual(want);
    expect(ids.size).toBe(expected.size);
    // Asked again, the same ids.
    expect(tuples.map(([p, v, b]) => ids.id(p, v, b))).toEqual(want);
  });
});
