import { create } from "@bufbuild/protobuf";
import {
  type Span,
  type SpanWindow,
  SpanWindowSchema,
} from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";
import { generateWorkload } from "@deeptrace/shared/workload/generator";
import type { WorkloadOptions } from "@deeptrace/shared/workload/options";

/** A generated workload as agent documents, their clock offsets and the normalised spans. */
export interface WorkloadSpans {
  /** Search-hit shaped agent documents, as the span-poller reads them. */
  documents: Array<{ _index: string; _id: string; _source: unknown }>;
  /** The measured clock offset per agent (what the poller applies). */
  clockOffsetsNs: Map<string, bigint>;
  /** The documents normalised to wall clock, as the span-poller puts them in windows. */
  spans: Span[];
}

export function workloadSpans(options: Partial<WorkloadOptions>): WorkloadSpans {
  const generated = generateWorkload(options);
  const clockOffsetsNs = new Map(
    generated.manifest.agents.map((a) => [a.agent, BigInt(a.recordedClockOffsetNs)]),
  );
  const documents = generated.spans.map(({ line }) => ({
    _index: line.index,
    _id: line.id,
    _source: line.doc as unknown,
  }));
  const result = ingestDocuments(documents, { format: "agent", index: "spans", clockOffsetsNs });
  if (result.rejected > 0) {
    throw new Error(`workload spans rejected: ${JSON.stringify(result.reasons)}`);
  }
  return { documents, clockOffsetsNs, spans: result.spans };
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
