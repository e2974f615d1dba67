import { describe, expect, it } from "vitest";
import { FifoPicker } from "../../src/engine/fifo-pick.js";

describe("FifoPicker", () => {
  it("gives each child the earliest containing parent not yet used for its downstream", () => {
    // Parents 0..3 start in index order; parent 1 ends early.
    const end = Float64Array.from([100, 20, 100, 100]);
    const picker = new FifoPicker(end, 2);
    for (const g of [0, 1, 2, 3]) picker.addParent(g);
    expect(picker.pick(10, 30, 0)).toBe(0);
    // Parent 1 ends (20) before this child (30): skipped; 0 is used for downstream 0.
    expect(picker.pick(12, 30, 0)).toBe(2);
    // Another downstream starts again from the earliest parent.
    expect(picker.pick(14, 15, 1)).toBe(0);
    expect(picker.pick(16, 18, 1)).toBe(1);
    expect(picker.pick(40, 50, 0)).toBe(3);
    // Every containing parent already has a child for downstream 0.
    expect(picker.pick(41, 50, 0)).toBe(-1);
    picker.reset();
    picker.addParent(3);
    expect(picker.pick(41, 50, 0)).toBe(3);
  });
});
