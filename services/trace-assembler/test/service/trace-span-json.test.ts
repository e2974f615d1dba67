import { create, toJson } from "@bufbuild/protobuf";
import { Direction } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { LinkKind, TraceSpanSchema } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { describe, expect, it } from "vitest";
import { cutWindows, workloadSpans } from "../../src/bench/workload-windows.js";
import { traceSpanJson } from "../../src/documents/trace-span-json.js";
import { assemble } from "../../src/engine/assemble.js";

describe("traceSpanJson", () => {
  it("writes every assembled span of a generated window as toJson does", () => {
    const { spans } = workloadSpans({ requests: 120, rate: 250, seed: "span-json" });
    const [window] = cutWindows(spans, 400_000_000n, 100_000_000n, "span-json");
    if (!window) throw new Error("no window");
    const { traces } = assemble(window.spans, { algorithm: "deeptrace" });
    const links = traces.flatMap((t) => t.spans);
    expect(links.length).toBeGreaterThan(100);
    for (const link of links) expect(traceSpanJson(link)).toEqual(toJson(TraceSpanSchema, link));
  });

  it("writes defaults, extremes, unknown enum numbers and non-finite scores as toJson does", () => {
    const cases = [
      create(TraceSpanSchema, {}),
      create(TraceSpanSchema, {
        spanId: "s\u00e9",
        linkKind: LinkKind.OBSERVED,
        linkScore: Number.NaN,
        direction: Direction.EGRESS,
        startTimeNs: -9_223_372_036_854_775_808n,
        endTimeNs: 9_223_372_036_854_775_807n,
        error: true,
        tgid: 4_294_967_295,
        observedIds: [
          { kind: "x-request-id", value: "" },
          { kind: "", value: "v" },
        ],
      }),
      create(TraceSpanSchema, { linkScore: Number.POSITIVE_INFINITY, linkKind: 42 as LinkKind }),
      create(TraceSpanSchema, { linkScore: Number.NEGATIVE_INFINITY, direction: 7 as Direction }),
      create(TraceSpanSchema, { linkScore: -0, durationNs: -1n, threadId: 1 }),
    ];
    for (const span of cases) expect(traceSpanJson(span)).toEqual(toJson(TraceSpanSchema, span));
  });
});
