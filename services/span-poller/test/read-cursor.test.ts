import { describe, expect, it } from "vitest";
import { type IndexHit, ReadCursor } from "../src/index-reader.js";

const hit = (rawStartNs: bigint, docId: string): IndexHit => ({ rawStartNs, docId, source: {} });

describe("ReadCursor", () => {
  it("continues at the last start time and skips only documents already read there", () => {
    const cursor = new ReadCursor(undefined);
    // First read: the page ends in the middle of three documents sharing t=20.
    expect([hit(10n, "a"), hit(20n, "b"), hit(20n, "c")].map((h) => cursor.accept(h))).toEqual([
      true,
      true,
      true,
    ]);
    expect(cursor.rawTimeNs).toBe(20n);
    expect(cursor.lastDocId).toBe("c");
    // Next read starts at t=20 inclusive (a new point in time orders them differently).
    const again = [hit(20n, "c"), hit(20n, "d"), hit(20n, "b"), hit(30n, "e")];
    expect(again.map((h) => cursor.accept(h))).toEqual([false, true, false, true]);
    expect(cursor.rawTimeNs).toBe(30n);
  });

  it("reads every one of thousands of documents sharing a timestamp exactly once across reads", () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => `doc-${i}`);
    const cursor = new ReadCursor(undefined);
    const accepted = new Set<string>();
    // Reads of 700 documents, each re-starting at the cursor time with a shuffled order.
    let offset = 0;
    while (accepted.size < ids.length) {
      const order = [...ids.slice(0, offset), ...ids.slice(offset).reverse()];
      const page = order.slice(0, offset + 700).map((id) => hit(42n, id));
      for (const h of page) {
        if (cursor.accept(h)) {
          expect(accepted.has(h.docId)).toBe(false);
          accepted.add(h.docId);
        }
      }
      offset += 700;
    }
    expect(accepted.size).toBe(5_000);
  });

  it("starts at a given raw time and ignores documents before it", () => {
    const cursor = new ReadCursor(100n);
    expect(cursor.accept(hit(99n, "x"))).toBe(false);
    expect(cursor.accept(hit(100n, "y"))).toBe(true);
  });
});
