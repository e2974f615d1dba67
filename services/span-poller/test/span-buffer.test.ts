import { create } from "@bufbuild/protobuf";
import { SpanSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { describe, expect, it } from "vitest";
import { bufferedSpan, SpanBuffer } from "../src/span-buffer.js";

function doc(agent: string, id: string, startTimeNs: bigint) {
  return bufferedSpan(create(SpanSchema, { spanId: `${agent}-${id}`, agent, startTimeNs }), id);
}

describe("SpanBuffer", () => {
  it("orders spans of all agents by start time and merges late documents in place", () => {
    const buffer = new SpanBuffer();
    buffer.add("a", doc("a", "1", 100n));
    buffer.add("a", doc("a", "2", 300n));
    buffer.add("b", doc("b", "1", 200n));
    expect(buffer.add("a", doc("a", "3", 150n))).toBe(true);
    expect(buffer.add("a", doc("a", "3", 150n))).toBe(false);
    expect(buffer.spansIn(0n, 1_000n).map((s) => s.spanId)).toEqual(["a-1", "a-3", "b-1", "a-2"]);
    expect(buffer.documentsIn("a", 100n, 300n)).toBe(2);
    expect(buffer.firstAtOrAfter(160n)).toBe(200n);
  });

  it("sizes spans as they will be encoded and sums sizes by time range", () => {
    const buffer = new SpanBuffer();
    const one = doc("a", "1", 100n);
    buffer.add("a", one);
    buffer.add("a", doc("a", "2", 200n));
    expect(one.bytes).toBeGreaterThan(10);
    expect(buffer.bytesIn(100n, 200n)).toBe(one.bytes);
    buffer.add("a", doc("a", "0", 50n));
    expect(buffer.bytesIn(0n, 200n)).toBe(one.bytes + doc("a", "0", 50n).bytes);
  });

  it("counts rejected documents without publishing them and forgets what is behind", () => {
    const buffer = new SpanBuffer();
    buffer.add("a", { timeNs: 100n, docId: "bad", span: undefined, bytes: 0 });
    buffer.add("a", doc("a", "ok", 100n));
    expect(buffer.documentsIn("a", 0n, 200n)).toBe(2);
    expect(buffer.spansIn(0n, 200n)).toHaveLength(1);
    buffer.dropBefore(101n);
    expect(buffer.size).toBe(0);
    expect(buffer.add("a", doc("a", "ok", 100n))).toBe(true);
  });
});
