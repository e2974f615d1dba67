import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SpanSchema, SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";
import { describe, expect, it } from "vitest";
import { cutWindows, workloadSpans } from "../../src/bench/workload-windows.js";
import { decodeSpanWindow, SpanWindowDecodeError } from "../../src/windows/span-window-decoder.js";
import { decodeWindow, InvalidWindowError } from "../../src/windows/window-processor.js";

const RPS100 = fileURLToPath(
  new URL("../../../../../shared/data/rps100-spans.json", import.meta.url),
);

/** What the generic protobuf decoder makes of the same bytes (the reference). */
function reference(bytes: Uint8Array) {
  return fromBinary(SpanWindowSchema, bytes);
}

describe("decodeSpanWindow", () => {
  it("decodes generated windows exactly as fromBinary does", () => {
    const { spans } = workloadSpans({ requests: 200, rate: 250, seed: "decoder" });
    const windows = cutWindows(spans, 300_000_000n, 100_000_000n, "decoder");
    expect(windows.length).toBeGreaterThan(1);
    for (const window of windows) {
      const bytes = toBinary(SpanWindowSchema, { ...window, revision: 3 });
      expect(decodeSpanWindow(bytes)).toEqual(reference(bytes));
    }
  });

  it("decodes the real rps100 capture exactly as fromBinary does", () => {
    const doc = JSON.parse(readFileSync(RPS100, "utf8")) as { spans: unknown[] };
    const { spans } = ingestDocuments(doc.spans, { format: "auto", index: "rps100-spans" });
    const bytes = toBinary(
      SpanWindowSchema,
      create(SpanWindowSchema, { windowId: "rps100", startNs: 1n, endNs: 2n, spans }),
    );
    const decoded = decodeSpanWindow(bytes);
    expect(decoded.spans).toHaveLength(1604);
    expect(decoded).toEqual(reference(bytes));
  });

  it("keeps every value of repeating short fields apart, however many and however alike", () => {
    // More distinct values than the decoder remembers, many of one length and one byte apart.
    const spans = Array.from({ length: 10_000 }, (_, i) =>
      create(SpanSchema, {
        spanId: `s${i}`,
        agent: `agent-${String(i % 5_000).padStart(4, "0")}`,
        service: i % 2 === 0 ? "svc-a" : "svc-b",
        hostname: `h\u00e9${i % 7}`,
        connection: { srcIp: `10.0.${i % 256}.${i % 199}`, dstIp: "10.0.0.1", dstPort: 80 },
        labels: { [`k${i % 3}`]: "v" },
      }),
    );
    const bytes = toBinary(
      SpanWindowSchema,
      create(SpanWindowSchema, { windowId: "alike", startNs: 1n, endNs: 2n, spans }),
    );
    expect(decodeSpanWindow(bytes)).toEqual(reference(bytes));
  });

  it("keeps 64-bit extremes, negative numbers, non-ASCII text, labels and a merged connection", () => {
    const span = create(SpanSchema, {
      spanId: "s\u00e9\u{1f600}",
      direction: 2,
      tgid: 4_294_967_295,
      startTimeNs: -9_223_372_036_854_775_808n,
      endTimeNs: 9_223_372_036_854_775_807n,
      clockOffsetNs: -1n,
      reqSize: 18_446_744_073_709_551_615n,
      error: true,
      labels: { a: "1", "\u00fc": "" },
      observedIds: [
        { kind: "traceparent", value: "00-abc" },
        { kind: "b3", value: "" },
      ],
      connection: { srcIp: "10.0.0.1", srcPort: 65_535, dstPort: 1 },
    });
    const window = create(SpanWindowSchema, {
      windowId: "w",
      startNs: -5n,
      endNs: 2n ** 62n,
      marginNs: 0n,
      revision: 4_000_000_000,
      spans: [span, create(SpanSchema, {})],
      agents: ["a", "b"],
    });
    const bytes = toBinary(SpanWindowSchema, window);
    expect(decodeSpanWindow(bytes)).toEqual(reference(bytes));
    // A second occurrence of the connection merges into the first, as protobuf requires.
    const again = toBinary(SpanSchema, create(SpanSchema, { connection: { dstIp: "10.0.0.2" } }));
    const spanBytes = Buffer.concat([toBinary(SpanSchema, span), again]);
    const merged = Buffer.concat([
      Buffer.from([0x32, (spanBytes.length & 0x7f) | 0x80, spanBytes.length >> 7]),
      spanBytes,
    ]);
    expect(decodeSpanWindow(merged)).toEqual(reference(merged));
    expect(decodeSpanWindow(merged).spans[0]?.connection?.dstIp).toBe("10.0.0.2");
    expect(decodeSpanWindow(merged).spans[0]?.connection?.srcIp).toBe("10.0.0.1");
  });

  it("skips fields it does not know", () => {
    const bytes = toBinary(
      SpanWindowSchema,
      create(SpanWindowSchema, { windowId: "w", endNs: 1n }),
    );
    // Field 99 as varint, fixed64, length-delimited and fixed32, before the known fields.
    const unknown = Buffer.from([
      0x98, 0x06, 0x96, 0x01, 0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x9a, 0x06, 2, 0x41, 0x42, 0x9d,
      0x06, 1, 2, 3, 4,
    ]);
    const decoded = decodeSpanWindow(Buffer.concat([unknown, bytes]));
    expect(decoded.windowId).toBe("w");
    expect(decoded.endNs).toBe(1n);
  });

  it("rejects truncated bytes, wrong wire types and groups with a reason", () => {
    const bytes = toBinary(
      SpanWindowSchema,
      create(SpanWindowSchema, {
        windowId: "window-1",
        spans: [create(SpanSchema, { spanId: "x" })],
      }),
    );
    expect(() => decodeSpanWindow(bytes.subarray(0, bytes.length - 1))).toThrow(
      /truncated|overruns/,
    );
    expect(() => decodeSpanWindow(Buffer.from([0x08, 0x01]))).toThrow(
      /field 1 has wire type 0, expected 2/,
    );
    expect(() => decodeSpanWindow(Buffer.from([0x0b]))).toThrow(SpanWindowDecodeError);
    expect(() => decodeWindow(Buffer.from("this is not a SpanWindow"))).toThrow(InvalidWindowError);
  });
});
