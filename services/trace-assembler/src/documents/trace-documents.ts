import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import {
  Direction,
  type ObservedId,
  type Span,
} from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import {
  LinkKind,
  type Trace,
  TraceSchema,
  type TraceSpan,
  TraceSpanSchema,
} from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { traceSpanJson } from "./trace-span-json.js";

/** The window a document came from. */
export interface WindowRef {
  windowId: string;
  revision: number;
}

const LINK_KIND_NAMES: Record<LinkKind, string> = {
  [LinkKind.UNSPECIFIED]: "unspecified",
  [LinkKind.ROOT]: "root",
  [LinkKind.CROSS]: "cross",
  [LinkKind.INTRA]: "intra",
  [LinkKind.OBSERVED]: "observed",
};

const DIRECTION_NAMES: Record<Direction, string> = {
  [Direction.UNSPECIFIED]: "unspecified",
  [Direction.INGRESS]: "ingress",
  [Direction.EGRESS]: "egress",
};

export function linkKindName(kind: LinkKind): string {
  return LINK_KIND_NAMES[kind] ?? "unspecified";
}

/** "error" or "ok", as stored and as `SearchTraces` filters it. */
export function traceStatus(trace: Pick<Trace, "error">): "error" | "ok" {
  return trace.error ? "error" : "ok";
}

/**
 * The trace document (`_id` = trace id). Filterable fields are indexed; the spans are kept
 * as protobuf JSON in a stored-only object so `GetTrace` returns exactly what was assembled.
 * Nanosecond times are exact decimal strings (accepted by `long` fields), so the document
 * needs no bigint replacer to serialise: `JSON.stringify` with one was a third slower, on
 * the worker thread's share of a CPU Elasticsearch also needs.
 */
export function traceDocument(trace: Trace, window: WindowRef, assembledAt: Date) {
  return {
    trace_id: trace.traceId,
    root_span_id: trace.rootSpanId,
    root_service: trace.rootService,
    root_endpoint: trace.rootEndpoint,
    start_time_ns: String(trace.startTimeNs),
    end_time_ns: String(trace.endTimeNs),
    duration_ns: String(trace.durationNs),
    services: trace.services,
    endpoints: trace.endpoints,
    span_count: trace.spanCount,
    error: trace.error,
    status: traceStatus(trace),
    completeness: {
      root_present: trace.completeness?.rootPresent ?? false,
      orphan_count: trace.completeness?.orphanCount ?? 0,
      late_span_count: trace.completeness?.lateSpanCount ?? 0,
      skew_applied: trace.completeness?.skewApplied ?? false,
    },
    window_id: window.windowId,
    window_revision: window.revision,
    assembled_at: assembledAt.toISOString(),
    spans: trace.spans.map(traceSpanJson),
  };
}

export type TraceDocument = ReturnType<typeof traceDocument>;

/** A stored trace document back as the protobuf message. */
export function traceFromDocument(source: Record<string, unknown>): Trace {
  const completeness = (source.completeness ?? {}) as Record<string, unknown>;
  return create(TraceSchema, {
    traceId: String(source.trace_id ?? ""),
    rootSpanId: String(source.root_span_id ?? ""),
    rootService: String(source.root_service ?? ""),
    rootEndpoint: String(source.root_endpoint ?? ""),
    startTimeNs: toBigInt(source.start_time_ns),
    endTimeNs: toBigInt(source.end_time_ns),
    durationNs: toBigInt(source.duration_ns),
    services: asStrings(source.services),
    endpoints: asStrings(source.endpoints),
    spanCount: Number(source.span_count ?? 0),
    error: source.error === true,
    completeness: {
      rootPresent: completeness.root_present === true,
      orphanCount: Number(completeness.orphan_count ?? 0),
      lateSpanCount: Number(completeness.late_span_count ?? 0),
      skewApplied: completeness.skew_applied === true,
    },
    spans: ((source.spans ?? []) as JsonValue[]).map((s) => fromJson(TraceSpanSchema, s)),
    windowId: String(source.window_id ?? ""),
  });
}

/**
 * The correlated span document (`_id` = span id): the span as captured, with its trace and
 * parent. Payloads and labels are stored but not indexed. Nanosecond times, sizes and
 * sequence numbers are exact decimal strings, as in the trace document.
 */
export function spanDocument(
  link: TraceSpan,
  span: Span | undefined,
  traceId: string,
  window: WindowRef,
) {
  return {
    span_id: link.spanId,
    trace_id: traceId,
    parent_span_id: link.parentSpanId,
    link_kind: linkKindName(link.linkKind),
    link_score: link.linkScore,
    agent: link.agent,
    service: link.service,
    endpoint: link.endpoint,
    direction: DIRECTION_NAMES[link.direction] ?? "unspecified",
    protocol: link.protocol,
    start_time_ns: String(link.startTimeNs),
    end_time_ns: String(link.endTimeNs),
    duration_ns: String(link.durationNs),
    raw_start_ns: String(link.rawStartNs),
    raw_end_ns: String(link.rawEndNs),
    clock_offset_ns: String(span?.clockOffsetNs ?? 0n),
    status: link.status,
    error: link.error,
    tgid: link.tgid,
    thread_id: link.threadId,
    comm: span?.comm ?? "",
    hostname: span?.hostname ?? "",
    container_id: span?.containerId ?? "",
    container_name: span?.containerName ?? "",
    source_index: span?.sourceIndex ?? "",
    source_doc_id: span?.sourceDocId ?? "",
    connection: {
      l4_protocol: span?.connection?.l4Protocol ?? "",
      src_ip: span?.connection?.srcIp ?? "",
      src_port: span?.connection?.srcPort ?? 0,
      dst_ip: span?.connection?.dstIp ?? "",
      dst_port: span?.connection?.dstPort ?? 0,
    },
    req_size: String(span?.reqSize ?? 0n),
    resp_size: String(span?.respSize ?? 0n),
    req_seq: String(span?.reqSeq ?? 0n),
    resp_seq: String(span?.respSeq ?? 0n),
    observed_ids: link.observedIds.map((o: ObservedId) => ({ kind: o.kind, value: o.value })),
    labels: span?.labels ?? {},
    req_payload: span?.reqPayload ?? "",
    resp_payload: span?.respPayload ?? "",
    window_id: window.windowId,
    window_revision: window.revision,
  };
}

export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(Math.trunc(value));
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  return 0n;
}

function asStrings(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return typeof value === "string" ? [value] : [];
}
