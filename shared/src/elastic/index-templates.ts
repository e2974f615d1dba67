import { type Client, errors } from "@elastic/elasticsearch";

/** The indices the trace-assembler writes, from the configured prefix. */
export interface TraceIndices {
  traces: string;
  spans: string;
  serviceGraph: string;
  deadLetters: string;
  /** One document per window: the revision whose documents are stored. */
  windows: string;
}

export function traceIndices(prefix: string): TraceIndices {
  return {
    traces: `${prefix}-traces`,
    spans: `${prefix}-spans`,
    serviceGraph: `${prefix}-service-graph`,
    deadLetters: `${prefix}-dead-letters`,
    windows: `${prefix}-windows`,
  };
}

/** Bumped whenever a mapping below changes; stored in the template's `_meta`. */
export const TEMPLATE_VERSION = 2;

const keyword = { type: "keyword" } as const;
const long = { type: "long" } as const;
const integer = { type: "integer" } as const;
const boolean = { type: "boolean" } as const;
/** Kept in `_source`, never parsed or indexed. */
const storedObject = { type: "object", enabled: false } as const;
const storedText = { type: "text", index: false } as const;

/**
 * Every time is an integer of nanoseconds since the Unix epoch in a `long` field (written as
 * a decimal string so no precision is lost in JSON); the raw agent clock is kept beside it.
 */
const traceMappings = {
  dynamic: "strict",
  properties: {
    trace_id: keyword,
    root_span_id: keyword,
    root_service: keyword,
    root_endpoint: keyword,
    start_time_ns: long,
    end_time_ns: long,
    duration_ns: long,
    services: keyword,
    endpoints: keyword,
    span_count: integer,
    error: boolean,
    status: keyword,
    completeness: {
      dynamic: "strict",
      properties: {
        root_present: boolean,
        orphan_count: integer,
        late_span_count: integer,
        skew_applied: boolean,
      },
    },
    window_id: keyword,
    window_revision: integer,
    assembled_at: { type: "date" },
    spans: storedObject,
  },
} as const;

const spanMappings = {
  dynamic: "strict",
  properties: {
    span_id: keyword,
    trace_id: keyword,
    parent_span_id: keyword,
    link_kind: keyword,
    link_score: { type: "float" },
    agent: keyword,
    service: keyword,
    endpoint: keyword,
    direction: keyword,
    protocol: keyword,
    start_time_ns: long,
    end_time_ns: long,
    duration_ns: long,
    raw_start_ns: long,
    raw_end_ns: long,
    clock_offset_ns: long,
    status: keyword,
    error: boolean,
    tgid: long,
    thread_id: long,
    comm: keyword,
    hostname: keyword,
    container_id: keyword,
    container_name: keyword,
    source_index: keyword,
    source_doc_id: keyword,
    connection: {
      dynamic: "strict",
      properties: {
        l4_protocol: keyword,
        src_ip: keyword,
        src_port: integer,
        dst_ip: keyword,
        dst_port: integer,
      },
    },
    req_size: long,
    resp_size: long,
    req_seq: long,
    resp_seq: long,
    observed_ids: { dynamic: "strict", properties: { kind: keyword, value: keyword } },
    labels: storedObject,
    req_payload: storedText,
    resp_payload: storedText,
    window_id: keyword,
    window_revision: integer,
  },
} as const;

/** Per-window service-graph contributions: nodes and edges, summed at query time. */
const serviceGraphMappings = {
  dynamic: "strict",
  properties: {
    kind: keyword,
    window_id: keyword,
    window_revision: integer,
    window_start_ns: long,
    window_end_ns: long,
    service: keyword,
    source: keyword,
    target: keyword,
    protocol: keyword,
    call_count: long,
    error_count: long,
    latency_sum_ns: long,
    latency_max_ns: long,
    /**
     * Log-scale duration histogram (bucket index, count), so percentiles can be computed over
     * any set of windows. Nested, not the x-pack `histogram` type, which the basic
     * distribution lacks.
     */
    latency_buckets: {
      type: "nested",
      dynamic: "strict",
      properties: { bucket: integer, count: long },
    },
  },
} as const;

const deadLetterMappings = {
  dynamic: "strict",
  properties: {
    kind: keyword,
    reason: { type: "text" },
    status: integer,
    target_index: keyword,
    target_id: keyword,
    window_id: keyword,
    subject: keyword,
    stream_sequence: long,
    delivery_count: integer,
    payload: storedText,
    payload_encoding: keyword,
    payload_bytes: long,
    payload_truncated: boolean,
    recorded_at: { type: "date" },
  },
} as const;

/**
 * The window marker (`_id` = window id, external version = revision), written after every
 * document of that revision: a delivery of an older revision is skipped when it sees a newer
 * one here.
 */
const windowMappings = {
  dynamic: "strict",
  properties: {
    window_id: keyword,
    window_revision: integer,
    window_start_ns: long,
    window_end_ns: long,
    span_count: integer,
    trace_count: integer,
    written_at: { type: "date" },
  },
} as const;

/** The composable index templates, by name. */
export function traceIndexTemplates(prefix: string) {
  const indices = traceIndices(prefix);
  const template = (index: string, mappings: object) => ({
    name: index,
    index_patterns: [index],
    priority: 200,
    _meta: { managed_by: "deeptrace-trace-assembler", version: TEMPLATE_VERSION },
    template: {
      settings: { number_of_shards: 1, auto_expand_replicas: "0-1", refresh_interval: "1s" },
      mappings,
    },
  });
  return [
    template(indices.traces, traceMappings),
    template(indices.spans, spanMappings),
    template(indices.serviceGraph, serviceGraphMappings),
    template(indices.deadLetters, deadLetterMappings),
    template(indices.windows, windowMappings),
  ];
}

/**
 * Creates or updates the templates and creates the indices that do not exist yet. Safe to run
 * from every instance at start, at the same time: a concurrent creation of the same index is
 * not an error.
 */
export async function ensureTraceIndices(client: Client, prefix: string): Promise<TraceIndices> {
  for (const { name, ...body } of traceIndexTemplates(prefix)) {
    await client.indices.putIndexTemplate({ name, ...body } as never);
    try {
      await client.indices.create({ index: name });
    } catch (error) {
      const alreadyThere =
        error instanceof errors.ResponseError &&
        /resource_already_exists_exception/.test(String(error.body?.error?.type ?? error.message));
      if (!alreadyThere) throw error;
    }
  }
  return traceIndices(prefix);
}
