import { traceIndices } from "@deeptrace/shared/elastic/index-templates";
import { describe, expect, it } from "vitest";
import { cutWindows, workloadSpans } from "../../src/bench/workload-windows.js";
import { traceFromDocument } from "../../src/documents/trace-documents.js";
import { assemble } from "../../src/engine/assemble.js";
import { assembleWindow } from "../../src/windows/window-processor.js";

describe("the documents of a window", () => {
  const { spans } = workloadSpans({ requests: 150, rate: 250, seed: "documents" });
  const [window] = cutWindows(spans, 400_000_000n, 100_000_000n, "documents");
  if (!window) throw new Error("no window");
  const indices = traceIndices("dt-docs");
  const assembled = assembleWindow(window, indices, {
    algorithm: "deeptrace",
    useObservedIds: false,
  });
  const traces = assemble(window.spans, {
    algorithm: "deeptrace",
    window: { startNs: window.startNs, endNs: window.endNs },
    windowId: window.windowId,
  }).traces;

  it("store every trace so that GetTrace reads back exactly what the engine assembled", () => {
    const stored = assembled.documents.filter((d) => d.index === indices.traces);
    expect(stored).toHaveLength(traces.length);
    for (const trace of traces) {
      const document = stored.find((d) => d.id === trace.traceId);
      const source = JSON.parse(document?.source ?? "{}") as Record<string, unknown>;
      expect(source.start_time_ns).toBe(String(trace.startTimeNs));
      expect(source.duration_ns).toBe(String(trace.durationNs));
      expect(traceFromDocument(source)).toEqual({ ...trace, windowId: window.windowId });
    }
  });

  it("keep nanosecond times, sizes and sequence numbers of spans as exact decimal strings", () => {
    const byId = new Map(window.spans.map((s) => [s.spanId, s]));
    const links = new Map(traces.flatMap((t) => t.spans.map((l) => [l.spanId, l])));
    const stored = assembled.documents.filter((d) => d.index === indices.spans);
    expect(stored).toHaveLength(links.size);
    for (const document of stored) {
      const source = JSON.parse(document.source) as Record<string, unknown>;
      const span = byId.get(document.id);
      const link = links.get(document.id);
      expect(source.start_time_ns).toBe(String(link?.startTimeNs));
      expect(source.raw_end_ns).toBe(String(link?.rawEndNs));
      expect(source.clock_offset_ns).toBe(String(span?.clockOffsetNs));
      expect(source.resp_size).toBe(String(span?.respSize));
      expect(source.req_seq).toBe(String(span?.reqSeq));
    }
  });
});
