import { create } from "@bufbuild/protobuf";
import type { TraceIndices } from "@deeptrace/shared/elastic/index-templates";
import {
  type ServiceGraph,
  ServiceGraphSchema,
  type Trace,
} from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import type { Client } from "@elastic/elasticsearch";
import { percentileFromBuckets } from "../documents/graph-documents.js";
import { toBigInt, traceFromDocument } from "../documents/trace-documents.js";
import {
  decodePageToken,
  encodePageToken,
  filterFingerprint,
  InvalidPageTokenError,
} from "./page-token.js";

export interface TraceSearch {
  startTimeNs: bigint;
  endTimeNs: bigint;
  service: string;
  endpoint: string;
  minDurationNs: bigint;
  status: string;
  pageSize: number;
  pageToken: string;
}

export interface TraceSearchPage {
  traces: Trace[];
  nextPageToken: string;
  total: bigint;
}

export { InvalidPageTokenError };

/** Reads traces and the service graph from the indices the assembler writes. */
export class TraceQueries {
  constructor(
    private readonly client: Client,
    private readonly indices: TraceIndices,
  ) {}

  async getTrace(traceId: string): Promise<Trace | undefined> {
    const response = await this.client.get<Record<string, unknown>>(
      { index: this.indices.traces, id: traceId },
      { ignore: [404] },
    );
    return response.found && response._source ? traceFromDocument(response._source) : undefined;
  }

  /**
   * Traces whose root starts in [start, end) (0 = open) matching the filters, newest first
   * (ties by trace id), one page at a time. The token carries the last (start, trace id)
   * as exact decimal strings taken from the stored documents, so nanosecond times never
   * pass through a float.
   */
  async searchTraces(search: TraceSearch): Promise<TraceSearchPage> {
    const fingerprint = filterFingerprint({
      start: search.startTimeNs,
      end: search.endTimeNs,
      service: search.service,
      endpoint: search.endpoint,
      min: search.minDurationNs,
      status: search.status,
    });
    const after = search.pageToken ? decodePageToken(search.pageToken, fingerprint) : undefined;
    const filter: object[] = [];
    const range: Record<string, string> = {};
    if (search.startTimeNs > 0n) range.gte = search.startTimeNs.toString();
    if (search.endTimeNs > 0n) range.lt = search.endTimeNs.toString();
    if (Object.keys(range).length > 0) filter.push({ range: { start_time_ns: range } });
    if (search.service) filter.push({ term: { services: search.service } });
    if (search.endpoint) filter.push({ term: { endpoints: search.endpoint } });
    if (search.minDurationNs > 0n) {
      filter.push({ range: { duration_ns: { gte: search.minDurationNs.toString() } } });
    }
    if (search.status) filter.push({ term: { status: search.status } });
    const response = await this.client.search<Record<string, unknown>>({
      index: this.indices.traces,
      query: { bool: { filter } },
      sort: [{ start_time_ns: "desc" }, { trace_id: "asc" }],
      size: search.pageSize + 1,
      track_total_hits: true,
      ...(after ? { search_after: [after.startTimeNs.toString(), after.traceId] } : {}),
    });
    const hits = response.hits.hits;
    const traces = hits
      .slice(0, search.pageSize)
      .map((h) => traceFromDocument(h._source as Record<string, unknown>));
    const last = traces[traces.length - 1];
    const total = response.hits.total;
    return {
      traces,
      nextPageToken:
        hits.length > search.pageSize && last
          ? encodePageToken({ startTimeNs: last.startTimeNs, traceId: last.traceId }, fingerprint)
          : "",
      total: BigInt(typeof total === "number" ? total : (total?.value ?? 0)),
    };
  }

  /**
   * The service graph over windows overlapping [start, end) (0 = open): the per-window node
   * and edge documents summed, latency percentiles from their merged histograms.
   */
  async getServiceGraph(startTimeNs: bigint, endTimeNs: bigint): Promise<ServiceGraph> {
    const range: object[] = [];
    if (endTimeNs > 0n) range.push({ range: { window_start_ns: { lt: endTimeNs.toString() } } });
    if (startTimeNs > 0n) range.push({ range: { window_end_ns: { gt: startTimeNs.toString() } } });
    const metrics = {
      calls: { sum: { field: "call_count" } },
      errors: { sum: { field: "error_count" } },
      latency_sum: { sum: { field: "latency_sum_ns" } },
      latency_max: { max: { field: "latency_max_ns" } },
      latency: {
        nested: { path: "latency_buckets" },
        aggs: {
          buckets: {
            terms: { field: "latency_buckets.bucket", size: 1_024 },
            aggs: { count: { sum: { field: "latency_buckets.count" } } },
          },
        },
      },
      first: { min: { field: "window_start_ns" } },
      last: { max: { field: "window_end_ns" } },
    };
    const nodes = await this.composite(
      [...range, { term: { kind: "node" } }],
      [{ service: { terms: { field: "service" } } }],
      metrics,
    );
    const edges = await this.composite(
      [...range, { term: { kind: "edge" } }],
      [
        { source: { terms: { field: "source" } } },
        { target: { terms: { field: "target" } } },
        { protocol: { terms: { field: "protocol" } } },
      ],
      metrics,
    );
    let first: number | undefined;
    let last: number | undefined;
    for (const b of nodes) {
      const f = metric(b, "first");
      const l = metric(b, "last");
      if (f !== undefined && (first === undefined || f < first)) first = f;
      if (l !== undefined && (last === undefined || l > last)) last = l;
    }
    return create(ServiceGraphSchema, {
      nodes: nodes.map((b) => ({
        service: String(b.key.service),
        spanCount: BigInt(Math.round(metric(b, "calls") ?? 0)),
        errorCount: BigInt(Math.round(metric(b, "errors") ?? 0)),
        latency: latency(b),
      })),
      edges: edges.map((b) => ({
        source: String(b.key.source),
        target: String(b.key.target),
        protocol: String(b.key.protocol),
        callCount: BigInt(Math.round(metric(b, "calls") ?? 0)),
        errorCount: BigInt(Math.round(metric(b, "errors") ?? 0)),
        latency: latency(b),
      })),
      startTimeNs: startTimeNs > 0n ? startTimeNs : first !== undefined ? BigInt(first) : 0n,
      endTimeNs: endTimeNs > 0n ? endTimeNs : last !== undefined ? BigInt(last) : 0n,
    });
  }

  private async composite(
    filter: object[],
    sources: object[],
    aggs: object,
  ): Promise<CompositeBucket[]> {
    const buckets: CompositeBucket[] = [];
    let after: Record<string, unknown> | undefined;
    for (;;) {
      const response = await this.client.search({
        index: this.indices.serviceGraph,
        size: 0,
        query: { bool: { filter } },
        aggs: {
          groups: {
            composite: { size: 1_000, sources, ...(after ? { after } : {}) },
            aggs,
          },
        } as never,
      });
      const groups = (response.aggregations?.groups ?? {}) as {
        buckets?: CompositeBucket[];
        after_key?: Record<string, unknown>;
      };
      buckets.push(...(groups.buckets ?? []));
      if (!groups.after_key || (groups.buckets ?? []).length === 0) return buckets;
      after = groups.after_key;
    }
  }
}

interface CompositeBucket {
  key: Record<string, unknown>;
  [metric: string]: unknown;
}

function metric(bucket: CompositeBucket, name: string): number | undefined {
  const value = (bucket[name] as { value?: number | null } | undefined)?.value;
  return typeof value === "number" ? value : undefined;
}

function latency(bucket: CompositeBucket) {
  const terms = (bucket.latency as { buckets?: { buckets?: TermsBucket[] } } | undefined)?.buckets;
  const merged = (terms?.buckets ?? []).map((b) => ({
    bucket: Number(b.key),
    count: Math.round(b.count?.value ?? 0),
  }));
  const count = merged.reduce((sum, b) => sum + b.count, 0);
  const pct = (fraction: number) => BigInt(Math.round(percentileFromBuckets(merged, fraction)));
  return {
    p50Ns: pct(0.5),
    p90Ns: pct(0.9),
    p99Ns: pct(0.99),
    maxNs: toBigInt(Math.round(metric(bucket, "latency_max") ?? 0)),
    meanNs: count > 0 ? BigInt(Math.round((metric(bucket, "latency_sum") ?? 0) / count)) : 0n,
  };
}

interface TermsBucket {
  key: number | string;
  count?: { value?: number };
}
