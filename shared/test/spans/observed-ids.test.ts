import { groundTruthId, observedIdsIn } from "@deeptrace/shared/spans/observed-ids";
import { describe, expect, it } from "vitest";

const ids = (payload: string) => observedIdsIn(payload).map((o) => [o.kind, o.value]);

describe("observed propagated ids", () => {
  it("reads X-Request-Id, UUID or opaque, in any case", () => {
    const uuid = "4dae3ec3-9efd-4777-9703-aade14d42dc2";
    expect(ids(`GET / HTTP/1.1\r\nX-Request-Id: ${uuid}\r\n\r\n`)).toEqual([
      ["x-request-id", uuid],
    ]);
    expect(ids("GET / HTTP/1.1\r\nx-request-id: abc123\r\n\r\n")).toEqual([
      ["x-request-id", "abc123"],
    ]);
  });

  it("reads the trace id of a W3C traceparent", () => {
    expect(ids("TraceParent: 00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01\r\n")).toEqual(
      [["traceparent", "0af7651916cd43dd8448eb211c80319c"]],
    );
  });

  it("reads B3 single and multi headers as one kind", () => {
    expect(ids("b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1\r\n")).toEqual([
      ["b3", "80f198ee56343ba864fe8b2a57d3eff7"],
    ]);
    expect(ids("X-B3-TraceId: 463ac35c9f6413ad\r\nX-B3-SpanId: a2fb4a1d1a96d312\r\n")).toEqual([
      ["b3", "463ac35c9f6413ad"],
    ]);
  });

  it("reads Jaeger uber-trace-id, URL-encoded too, without leading zeros", () => {
    expect(ids("Uber-Trace-Id: 00abc:def:0:1\r\n")).toEqual([["uber-trace-id", "abc"]]);
    expect(ids("uber-trace-id: 5f%3A1%3A0%3A1\r\n")).toEqual([["uber-trace-id", "5f"]]);
  });

  it("ignores lookalike names and malformed values, and keeps each id once", () => {
    expect(ids("my-x-request-idx: 1\r\n")).toEqual([]);
    expect(ids("traceparent: not-a-trace\r\n")).toEqual([]);
    expect(ids("X-Request-Id: a\r\nX-Request-Id: a\r\n")).toEqual([["x-request-id", "a"]]);
  });

  it("prefers X-Request-Id as the ground-truth id", () => {
    const found = observedIdsIn(
      "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nX-Request-Id: r1\r\n",
    );
    expect(groundTruthId(found)).toBe("x-request-id:r1");
    expect(groundTruthId([])).toBeUndefined();
  });
});
