import type { Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";
import { createWorkload } from "@deeptrace/shared/workload/generator";
import type { WorkloadOptions } from "@deeptrace/shared/workload/options";
import { type GroundTruth, parseGroundTruth } from "../../src/scoring/ground-truth.js";

/**
 * A generated workload as the engine sees it: its documents ingested as Elasticsearch hits
 * with the manifest's recorded clock offsets, and its parent-level ground truth.
 */
export function generatedSpans(options: Partial<WorkloadOptions>): {
  spans: Span[];
  truth: GroundTruth;
} {
  const w = createWorkload(options);
  const hits: unknown[] = [];
  const truth: string[] = [];
  for (const s of w.spans()) {
    hits.push({ _index: s.line.index, _id: s.line.id, _source: s.line.doc });
    truth.push(JSON.stringify(s.truth));
  }
  const offsets = new Map(
    w.manifest().agents.map((a) => [a.agent, BigInt(a.recordedClockOffsetNs)]),
  );
  const { spans } = ingestDocuments(hits, {
    format: "agent",
    index: "spans",
    clockOffsetsNs: offsets,
  });
  return { spans, truth: parseGroundTruth(truth) };
}
