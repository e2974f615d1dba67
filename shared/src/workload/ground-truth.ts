/**
 * Ground truth written beside the generated documents (ground-truth.ndjson), one line per
 * span document:
 *
 *   {"index":"spans_<agent>","docId":"<id>","traceId":"<request id>","parent":{...}|null}
 *
 * `parent` is the span that caused this one: for an Egress span the Ingress span of the
 * same process that was handling the request when the call was made; for an Ingress span
 * the caller's Egress span; null for the root Ingress span of a request. `traceId` is the
 * end-to-end request id (the X-Request-Id value, whether or not the header is emitted).
 * The span id used by the engine is spanIdFor(agent, index, docId).
 */
export interface SpanRef {
  index: string;
  docId: string;
}

export interface GroundTruthLine {
  index: string;
  docId: string;
  traceId: string;
  parent: SpanRef | null;
}

/** Index name of an agent's spans, as the agent creates it. */
export function indexForAgent(agent: string): string {
  return `spans_${agent}`;
}

/** Parses one ground-truth line, throwing with a reason when it is not in the format. */
export function parseGroundTruthLine(line: string): GroundTruthLine {
  const value: unknown = JSON.parse(line);
  if (typeof value !== "object" || value === null) throw new Error("not an object");
  const v = value as Record<string, unknown>;
  if (typeof v.index !== "string" || typeof v.docId !== "string") {
    throw new Error("index and docId must be strings");
  }
  if (typeof v.traceId !== "string") throw new Error("traceId must be a string");
  let parent: SpanRef | null = null;
  if (v.parent !== null) {
    const p = v.parent as Record<string, unknown> | undefined;
    if (typeof p !== "object" || typeof p.index !== "string" || typeof p.docId !== "string") {
      throw new Error("parent must be null or {index, docId}");
    }
    parent = { index: p.index, docId: p.docId };
  }
  return { index: v.index, docId: v.docId, traceId: v.traceId, parent };
}
