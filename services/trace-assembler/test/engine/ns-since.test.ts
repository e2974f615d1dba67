import { describe, expect, it } from "vitest";
import { NsColumn, nsBase } from "../../src/engine/ns-since.js";

describe("NsColumn", () => {
  it("reads differences as Number() of the BigInt difference, near and far from the base", () => {
    const base = 1_747_286_016_000_000_123n;
    const values = [
      base,
      base + 1n,
      base - 1n,
      base + 4_294_967_295n,
      base + 4_294_967_296n,
      base - 4_294_967_297n,
      base + 2n ** 52n - 1n,
      base + 2n ** 52n + 12_345n,
      base - 2n ** 60n,
      base + 2n ** 61n + 7n,
      -5n,
      0n,
    ];
    // Some in the middle of a large random-looking spread as well.
    for (let k = 1n; k < 200n; k++)
      values.push(base + ((k * 7_919_000_001n) % 2n ** 40n) - 2n ** 39n);
    const column = BigInt64Array.from(values);
    const reader = new NsColumn(column);
    for (const b of [base, 0n, -5n, base + 2n ** 61n + 7n]) {
      const since = values.map((_, r) => reader.since(r, nsBase(b)));
      expect(since).toEqual(values.map((v) => Number(v - b)));
    }
    expect(column[reader.minRow()]).toBe(-5n);
  });
});
