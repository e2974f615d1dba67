/**
 * Ground truth for scoring, in one of two strengths:
 *
 * - trace-level: for each span, the request it belongs to. Taken from the observed
 *   propagated id of the span's request (X-Request-Id, traceparent, B3, uber-trace-id).
 *   Only the request side is used: agents sometimes pair a request with another request's
 *   response, so the response's id is not evidence.
 * - parent-level: for each span, its true parent span (and its request), from a
 *   ground-truth file written beside a generated workload, NDJSON lines
 *     {"index":"spans_<agent>","docId":"...","traceId":"...","parent":{"index":"...","docId":"..."}|null}
 *   with span ids spanIdFor(agent, index, docId), agent = index without "spans_".
 *
 * Spans without ground truth are left out of every metric.
 */
import type { ObservedId } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { agentForIndex } from "@deeptrace/shared/spans/document-context";
import { spanIdFor } from "@deeptrace/shared/spans/ids";
import { groundTruthId } from "@deeptrace/shared/spans/observed-ids";
import type { SpanTable } from "@deeptrace/shared/spans/span-table";

export interface GroundTruth {
  level: "trace" | "parent";
  /** Span id to the id of the request it belongs to. */
  requestOf: Map<string, string>;
  /** parent-level only: span id to its true parent span id ("" for a root). */
  parentOf?: Map<string, string>;
}

export function groundTruthFromObservedIds(
  spans: Pick<SpanTable, "length" | "spanId" | "observedIds">,
): GroundTruth {
  const requestOf = new Map<string, string>();
  for (let r = 0; r < spans.length; r++) {
    const id = groundTruthId(spans.observedIds[r] as ObservedId[]);
    if (id !== undefined) requestOf.set(spans.spanId.text(r), id);
  }
  return { level: "trace", requestOf };
}

export class GroundTruthError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`ground truth line ${line}: ${message}`);
    this.name = "GroundTruthError";
  }
}

function ref(value: unknown): { index: string; docId: string } | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  return typeof v.index === "string" && typeof v.docId === "string"
    ? { index: v.index, docId: v.docId }
    : undefined;
}

const spanIdOf = (r: { index: string; docId: string }) =>
  spanIdFor(agentForIndex(r.index), r.index, r.docId);

/** Parse the generator's NDJSON ground truth (blank lines ignored). */
export function parseGroundTruth(lines: Iterable<string>): GroundTruth {
  const requestOf = new Map<string, string>();
  const parentOf = new Map<string, string>();
  let n = 0;
  for (const raw of lines) {
    n++;
    const line = raw.trim();
    if (!line) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      throw new GroundTruthError(n, "not valid JSON");
    }
    const self = ref(doc);
    const d = doc as Record<string, unknown>;
    if (!self || typeof d.traceId !== "string")
      throw new GroundTruthError(n, "expected index, docId and traceId");
    const id = spanIdOf(self);
    requestOf.set(id, d.traceId);
    if (d.parent === null) parentOf.set(id, "");
    else {
      const p = ref(d.parent);
      if (!p) throw new GroundTruthError(n, "parent must be {index, docId} or null");
      parentOf.set(id, spanIdOf(p));
    }
  }
  return { level: "parent", requestOf, parentOf };
}
