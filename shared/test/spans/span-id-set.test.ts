import { spanIdFor } from "@deeptrace/shared/spans/ids";
import { SpanIdSet } from "@deeptrace/shared/spans/span-id-set";
import { describe, expect, it } from "vitest";

describe("SpanIdSet", () => {
  it("tells new span ids from repeated ones, also past its initial capacity", () => {
    const set = new SpanIdSet(4);
    const ids = Array.from({ length: 5000 }, (_, k) => spanIdFor("a", "spans_a", `d${k}`));
    for (const id of ids) expect(set.add(id)).toBe(true);
    for (const id of ids) expect(set.add(id)).toBe(false);
  });

  it("keeps ids that differ only in their last digit apart", () => {
    const set = new SpanIdSet();
    const base = "0123456789abcdef0123456789abcde";
    expect(set.add(`${base}0`)).toBe(true);
    expect(set.add(`${base}1`)).toBe(true);
    expect(set.add(`${base}0`)).toBe(false);
  });

  it("takes ids in any other format too, without mixing them with hex ids", () => {
    const set = new SpanIdSet();
    const hex = "0123456789abcdef0123456789abcdef";
    expect(set.add(hex.toUpperCase())).toBe(true);
    expect(set.add(hex)).toBe(true);
    expect(set.add(hex.toUpperCase())).toBe(false);
    expect(set.add("short")).toBe(true);
    expect(set.add("short")).toBe(false);
    expect(set.add("")).toBe(true);
    expect(set.add("")).toBe(false);
  });
});
