import { type BulkDocument, serializeDocument } from "@deeptrace/shared/elastic/bulk-writer";
import type { TraceIndices } from "@deeptrace/shared/elastic/index-templates";
import type { Span, SpanWindow } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { LinkKind, type Trace } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { graphDocuments, windowGraph } from "../documents/graph-documents.js";
import { spanDocument, traceDocument } from "../documents/trace-documents.js";
import { type Algorithm, assemble } from "../engine/assemble.js";
import { decodeSpanWindow } from "./span-window-decoder.js";

/** A message that can never become a window (it does not decode, or its bounds are wrong). */
export class InvalidWindowError extends Error {
  override name = "InvalidWindowError";
}

export interface WindowSettings {
  algorithm: Algorithm;
  useObservedIds: boolean;
}

/** Counts of one processed window, for metrics and stats. */
export interface WindowSummary {
  windowId: string;
  revision: number;
  spans: number;
  traces: number;
  links: Record<"root" | "cross" | "intra" | "observed", number>;
  orphanSpans: number;
  lateSpans: number;
}

export interface AssembledWindow {
  window: SpanWindow;
  documents: BulkDocument[];
  summary: WindowSummary;
}

/** Decodes a message as a SpanWindow and checks what the window contract promises. */
export function decodeWindow(data: Uint8Array): SpanWindow {
  let window: SpanWindow;
  try {
    window = decodeSpanWindow(data);
  } catch (error) {
    throw new InvalidWindowError(`not a SpanWindow: ${(error as Error).message}`);
  }
  if (!window.windowId) throw new InvalidWindowError("window has no window_id");
  if (window.endNs <= window.startNs) {
    throw new InvalidWindowError(
      `window ${window.windowId} has end_ns ${window.endNs} <= start_ns ${window.startNs}`,
    );
  }
  return window;
}

/**
 * Runs the engine over the whole window (margin spans included, so traces crossing the
 * window edge are complete) and turns the traces whose root starts in [start, end) into
 * documents: traces, their correlated spans and the window's service-graph contribution,
 * each under a deterministic id so a redelivery overwrites what an earlier delivery wrote,
 * and with the window revision as external version so an older revision never overwrites a
 * newer one (window-revisions.ts).
 */
export function assembleWindow(
  window: SpanWindow,
  indices: TraceIndices,
  settings: WindowSettings,
  now: Date = new Date(),
): AssembledWindow {
  const result = assemble(window.spans, {
    algorithm: settings.algorithm,
    window: { startNs: window.startNs, endNs: window.endNs },
    useObservedIds: settings.useObservedIds,
    windowId: window.windowId,
  });
  const ref = { windowId: window.windowId, revision: window.revision };
  const spansById = new Map<string, Span>();
  for (const span of window.spans) spansById.set(span.spanId, span);

  const documents: BulkDocument[] = [];
  const links = { root: 0, cross: 0, intra: 0, observed: 0 };
  let orphanSpans = 0;
  let lateSpans = 0;
  for (const trace of result.traces) {
    documents.push({
      index: indices.traces,
      id: trace.traceId,
      version: window.revision,
      source: JSON.stringify(traceDocument(trace, ref, now)),
    });
    orphanSpans += trace.completeness?.orphanCount ?? 0;
    lateSpans += trace.completeness?.lateSpanCount ?? 0;
    for (const link of trace.spans) {
      countLink(links, link.linkKind);
      documents.push({
        index: indices.spans,
        id: link.spanId,
        version: window.revision,
        source: JSON.stringify(spanDocument(link, spansById.get(link.spanId), trace.traceId, ref)),
      });
    }
  }
  const graph = windowGraph(result.traces);
  for (const doc of graphDocuments(graph, {
    ...ref,
    startNs: window.startNs,
    endNs: window.endNs,
  })) {
    documents.push({
      index: indices.serviceGraph,
      id: doc.id,
      version: window.revision,
      source: serializeDocument(doc.source),
    });
  }
  return {
    window,
    documents,
    summary: {
      ...ref,
      spans: window.spans.length,
      traces: result.traces.length,
      links,
      orphanSpans,
      lateSpans,
    },
  };
}

function countLink(links: WindowSummary["links"], kind: LinkKind): void {
  if (kind === LinkKind.CROSS) links.cross++;
  else if (kind === LinkKind.INTRA) links.intra++;
  else if (kind === LinkKind.OBSERVED) links.observed++;
  else links.root++;
}

/** The traces of a request's spans, for AssembleSpans: no storage, optional window. */
export function assembleRequestSpans(
  spans: Span[],
  settings: WindowSettings,
  window?: { startNs: bigint; endNs: bigint },
): { traces: Trace[]; graph: ReturnType<typeof assemble>["graph"] } {
  const result = assemble(spans, {
    algorithm: settings.algorithm,
    useObservedIds: settings.useObservedIds,
    ...(window ? { window } : {}),
  });
  return { traces: result.traces, graph: result.graph };
}
