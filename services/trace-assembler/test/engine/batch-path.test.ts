/**
 * The batch path (documents -> SpanTable -> assembleTable, no protobuf Span per document)
 * must give exactly what the Span path (documents -> Span messages -> assemble) gives:
 * the same traces, service graph, parents and statistics, on a generated workload and on
 * the real rps100 capture, with every option that changes what the engine reads.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { toJsonString } from "@bufbuild/protobuf";
import { ServiceGraphSchema, TraceSchema } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { type IngestOptions, ingestDocuments, ingestTable } from "@deeptrace/shared/spans/ingest";
import { createWorkload } from "@deeptrace/shared/workload/generator";
import { describe, expect, it } from "vitest";
import {
  type AssembleOptions,
  type AssembleResult,
  assemble,
  assembleTable,
} from "../../src/engine/assemble.js";

const RPS100 = fileURLToPath(
  new URL("../../../../../shared/data/rps100-spans.json", import.meta.url),
);

/** Everything assemble returns except the timings, as one string. */
function output(r: AssembleResult): string {
  return [
    ...r.traces.map((t) => toJsonString(TraceSchema, t)),
    toJsonString(ServiceGraphSchema, r.graph),
    JSON.stringify([...r.parents]),
    JSON.stringify({ ...r.stats, timingsMs: undefined }),
  ].join("\n");
}

function bothPaths(docs: unknown[], ingest: IngestOptions, options: AssembleOptions) {
  const spans = ingestDocuments(docs, ingest);
  const table = ingestTable(docs, ingest);
  const { spans: _, ...spanSummary } = spans;
  const { table: __, ...tableSummary } = table;
  expect(tableSummary).toEqual(spanSummary);
  return {
    spanPath: output(assemble(spans.spans, options)),
    tablePath: output(assembleTable(table.table, options)),
  };
}

describe("the batch path (SpanTable) and the Span path", () => {
  const w = createWorkload({ topology: "mixed", concurrency: 100, requests: 400, seed: 7 });
  const hits: unknown[] = [];
  for (const s of w.spans())
    hits.push({ _index: s.line.index, _id: s.line.id, _source: s.line.doc });
  // A few documents every path must reject the same way.
  hits.push({ _index: "spans_node1", _id: "bad-1", _source: { tag: {} } });
  hits.push(hits[0]);
  const clockOffsetsNs = new Map(
    w.manifest().agents.map((a) => [a.agent, BigInt(a.recordedClockOffsetNs)]),
  );
  const generated: IngestOptions = { format: "agent", index: "spans", clockOffsetsNs };

  it.each(["deeptrace", "fifo"] as const)(
    "give the same output on a generated workload (%s)",
    (algorithm) => {
      const { spanPath, tablePath } = bothPaths(hits, generated, { algorithm });
      expect(spanPath.split("\n").length).toBeGreaterThan(400);
      expect(tablePath).toBe(spanPath);
    },
  );

  const real = (JSON.parse(readFileSync(RPS100, "utf8")) as { spans: unknown[] }).spans;
  const ingest: IngestOptions = { format: "auto", index: "rps100-spans" };
  const spans = ingestDocuments(real, ingest).spans;
  let first = spans[0]?.startTimeNs ?? 0n;
  for (const s of spans) if (s.startTimeNs < first) first = s.startTimeNs;
  const variants: [string, AssembleOptions][] = [
    ["deeptrace", { algorithm: "deeptrace" }],
    ["fifo", { algorithm: "fifo" }],
    ["masked propagated ids", { algorithm: "deeptrace", maskPropagatedIds: true }],
    ["observed ids", { algorithm: "deeptrace", useObservedIds: true }],
    [
      "a window with late spans",
      {
        algorithm: "deeptrace",
        window: { startNs: first + 2_000_000_000n, endNs: first + 6_000_000_000n },
        windowId: "w-1",
        lateSpanIds: new Set(spans.slice(0, 200).map((s) => s.spanId)),
      },
    ],
  ];
  it.each(variants)("give the same output on rps100 (%s)", (_, options) => {
    const { spanPath, tablePath } = bothPaths(real, ingest, options);
    expect(tablePath).toBe(spanPath);
  });
});
