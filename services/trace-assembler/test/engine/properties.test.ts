import { toJsonString } from "@bufbuild/protobuf";
import type { Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { TraceSchema } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import type { TopologyName } from "@deeptrace/shared/workload/topology";
import { describe, expect, it } from "vitest";
import { type Algorithm, assemble } from "../../src/engine/assemble.js";
import { generatedSpans } from "./generated-spans.js";

function workload(topology: TopologyName, seed: number, fields: boolean) {
  return generatedSpans({
    topology,
    concurrency: 20,
    requests: 60,
    seed,
    transactionFields: fields,
    requestIdHeader: fields,
  });
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const CASES: [TopologyName, number, boolean][] = [
  ["chain", 1, true],
  ["fanout", 2, false],
  ["repeated", 3, true],
  ["cache", 4, false],
  ["mixed", 5, true],
  ["mixed", 6, false],
];
const ALGORITHMS: Algorithm[] = ["deeptrace", "fifo"];

describe.each(CASES)("engine properties on %s (seed %i, fields %s)", (topology, seed, fields) => {
  const { spans, truth } = workload(topology, seed, fields);

  it.each(ALGORITHMS)(
    "%s: every span in one trace, one root per trace, at most one parent, in its trace",
    (algorithm) => {
      const { traces, parents } = assemble(spans, { algorithm });
      const traceOf = new Map<string, number>();
      traces.forEach((t, k) => {
        const roots = t.spans.filter((s) => s.parentSpanId === "");
        expect(roots.map((s) => s.spanId)).toEqual([t.rootSpanId]);
        for (const s of t.spans) {
          expect(traceOf.has(s.spanId)).toBe(false);
          traceOf.set(s.spanId, k);
        }
      });
      expect(traceOf.size).toBe(spans.length);
      for (const [child, parent] of parents) {
        if (parent !== "") expect(traceOf.get(parent)).toBe(traceOf.get(child));
      }
    },
  );

  it.each(ALGORITHMS)(
    "%s: a request is split only where one of its links is missing or wrong",
    (algorithm) => {
      const { traces, parents } = assemble(spans, { algorithm });
      const traceOf = new Map<string, string>();
      for (const t of traces) for (const s of t.spans) traceOf.set(s.spanId, t.traceId);
      const byRequest = new Map<string, string[]>();
      for (const [id, req] of truth.requestOf)
        byRequest.set(req, [...(byRequest.get(req) ?? []), id]);
      for (const ids of byRequest.values()) {
        const broken = ids.filter((id) => {
          const want = truth.parentOf?.get(id) ?? "";
          return want !== "" && parents.get(id) !== want;
        }).length;
        const pieces = new Set(ids.map((id) => traceOf.get(id))).size;
        expect(pieces).toBeLessThanOrEqual(1 + broken);
        if (broken === 0) expect(pieces).toBe(1);
      }
      expect(byRequest.size).toBeGreaterThan(0);
    },
  );

  it("gives the same output for the same spans in any order", () => {
    const json = (input: Span[]) =>
      assemble(input, { algorithm: "deeptrace" })
        .traces.map((t) => toJsonString(TraceSchema, t))
        .join("\n");
    const reference = json(spans);
    expect(json(shuffled(spans, seed))).toBe(reference);
    expect(json(shuffled(spans, seed + 100).reverse())).toBe(reference);
  });
});
