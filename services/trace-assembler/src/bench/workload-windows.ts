import { create } from "@bufbuild/protobuf";
import {
  type Span,
  type SpanWindow,
  SpanWindowSchema,
} from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";
import { generateWorkload } from "@deeptrace/shared/workload/generator";
import type { WorkloadOptions } from "@deeptrace/shared/workload/options";

/** Spans of a generated workload, normalised to wall clock like the poller does. */
export function workloadSpans(options: Partial<WorkloadOptions>): Span[] {
  const { spans, manifest } = generateWorkload(options);
  const clockOffsetsNs = new Map(manifest.agents.map((a) => [a.agent, BigInt(a.clockOffsetNs)]));
  const result = ingestDocuments(
    spans.map(({ line }) => ({ _index: line.index, _id: line.id, _source: line.doc })),
    { format: "agent", index: "spans", clockOffsetsNs },
  );
  if (result.rejected > 0) {
    throw new Error(`workload spans rejected: ${JSON.stringify(result.reasons)}`);
  }
  return result.spans;
}

/**
 * Cuts spans into event-time windows the way the span-poller does: window k covers
 * [first + k*width, first + (k+1)*width) and carries every span starting within `margin`
 * of it, so traces crossing an edge are complete in the window that emits them.
 */
export function cutWindows(
  spans: readonly Span[],
  widthNs: bigint,
  marginNs: bigint,
  idPrefix: string,
): SpanWindow[] {
  if (spans.length === 0) return [];
  const sorted = [...spans].sort((a, b) =>
    a.startTimeNs < b.startTimeNs ? -1 : a.startTimeNs > b.startTimeNs ? 1 : 0,
  );
  const first = (sorted[0] as Span).startTimeNs;
  const last = (sorted[sorted.length - 1] as Span).startTimeNs;
  const windows: SpanWindow[] = [];
  let lo = 0;
  for (let startNs = first, k = 0; startNs <= last; startNs += widthNs, k++) {
    const endNs = startNs + widthNs;
    while (lo < sorted.length && (sorted[lo] as Span).startTimeNs < startNs - marginNs) lo++;
    const members: Span[] = [];
    for (let i = lo; i < sorted.length; i++) {
      const s = sorted[i] as Span;
      if (s.startTimeNs >= endNs + marginNs) break;
      members.push(s);
    }
    windows.push(
      create(SpanWindowSchema, {
        windowId: `${idPrefix}-${k}`,
        startNs,
        endNs,
        marginNs,
        revision: 0,
        spans: members,
        agents: [...new Set(members.map((s) => s.agent))].sort(),
      }),
    );
  }
  return windows;
}
