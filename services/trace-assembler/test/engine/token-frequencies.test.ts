import { describe, expect, it } from "vitest";
import { tokenFrequencies } from "../../src/engine/token-frequencies.js";

describe("tokenFrequencies", () => {
  it("counts per slot up to 0xffff and is clear when taken again, after few or many slots", () => {
    const first = tokenFrequencies();
    expect(first.add(7)).toBe(0);
    expect(first.add(7)).toBe(1);
    for (let k = 0; k < 0x10005; k++) first.add(9);
    expect(first.counts[9]).toBe(0xffff);
    expect(first.counts[7]).toBe(2);
    // Taken again: the same table, every counted slot back to 0.
    const second = tokenFrequencies();
    expect(second).toBe(first);
    expect(second.counts[7]).toBe(0);
    expect(second.counts[9]).toBe(0);
    // More slots than are listed: the whole table is cleared.
    for (let slot = 0; slot < second.counts.length; slot += 3) second.add(slot);
    const third = tokenFrequencies();
    expect(third.counts.every((c) => c === 0)).toBe(true);
  });
});
