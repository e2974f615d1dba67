import { createHash } from "node:crypto";
import { Direction } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import {
  LinkKind,
  type Trace,
  type TraceSpan,
} from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";

/** Histogram buckets per doubling of the duration: about 9% relative error on percentiles. */
const BUCKETS_PER_OCTAVE = 4;

/**
 * The duration below which `fraction` of the counted durations lie, from merged bucket
 * counts (the bucket's representative value); 0 when nothing was counted.
 */
export function percentileFromBuckets(
  buckets: ReadonlyArray<{ bucket: number; count: number }>,
  fraction: number,
): number {
  const sorted = [...buckets].sort((a, b) => a.bucket - b.bucket);
  const total = sorted.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(fraction * total));
  let seen = 0;
  for (const b of sorted) {
    seen += b.count;
    if (seen >= rank) return bucketValue(b.bucket);
  }
  return bucketValue((sorted[sorted.length - 1] as { bucket: number }).bucket);
}

/** Calls (or spans) summed for one node or edge of one window. */
export interface GraphAccumulator {
  count: number;
  errors: number;
  sumNs: bigint;
  maxNs: bigint;
  /** Log-scale bucket index to count; -1 holds zero durations. */
  buckets: Map<number, number>;
}

export interface WindowGraph {
  nodes: Map<string, GraphAccumulator>;
  edges: Map<string, GraphAccumulator & { source: string; target: string; protocol: string }>;
}

export function bucketIndex(durationNs: bigint): number {
  if (durationNs <= 0n) return -1;
  return Math.floor(Math.log2(Number(durationNs)) * BUCKETS_PER_OCTAVE);
}

/** The representative value of a bucket: its geometric middle (0 for the zero bucket). */
export function bucketValue(index: number): number {
  return index < 0 ? 0 : 2 ** ((index + 0.5) / BUCKETS_PER_OCTAVE);
}

function accumulator(): GraphAccumulator {
  return { count: 0, errors: 0, sumNs: 0n, maxNs: 0n, buckets: new Map() };
}

function entry(map: Map<string, GraphAccumulator>, key: string): GraphAccumulator {
  let acc = map.get(key);
  if (!acc) {
    acc = accumulator();
    map.set(key, acc);
  }
  return acc;
}

function add(acc: GraphAccumulator, durationNs: bigint, error: boolean): void {
  acc.count++;
  if (error) acc.errors++;
  acc.sumNs += durationNs;
  if (durationNs > acc.maxNs) acc.maxNs = durationNs;
  const b = bucketIndex(durationNs);
  acc.buckets.set(b, (acc.buckets.get(b) ?? 0) + 1);
}

/**
 * What the traces emitted by one window add to the service graph, in the engine's terms
 * (engine/service-graph.ts): a node per span service with span and error counts and the
 * latency of the requests it served (of its calls when it served none in the window), an
 * edge per cross-component link from caller service to callee service with the
 * caller-observed latency. Only emitted traces count and each trace is emitted by exactly
 * one window, so summing windows at query time never counts a call twice.
 */
export function windowGraph(traces: readonly Trace[]): WindowGraph {
  const graph: WindowGraph = { nodes: new Map(), edges: new Map() };
  const clientLatency = new Map<string, GraphAccumulator>();
  for (const trace of traces) {
    const byId = new Map<string, TraceSpan>();
    for (const s of trace.spans) byId.set(s.spanId, s);
    for (const s of trace.spans) {
      const node = entry(graph.nodes, s.service);
      if (s.direction === Direction.INGRESS) {
        add(node, s.durationNs, s.error);
      } else {
        node.count++;
        if (s.error) node.errors++;
        add(entry(clientLatency, s.service), s.durationNs, s.error);
      }
      const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      if (parent && s.linkKind === LinkKind.CROSS) {
        const key = `${parent.service}\0${s.service}\0${parent.protocol}`;
        let edge = graph.edges.get(key);
        if (!edge) {
          edge = {
            ...accumulator(),
            source: parent.service,
            target: s.service,
            protocol: parent.protocol,
          };
          graph.edges.set(key, edge);
        }
        add(edge, parent.durationNs, parent.error || s.error);
      }
    }
  }
  for (const [service, node] of graph.nodes) {
    const client = clientLatency.get(service);
    if (node.buckets.size === 0 && client) {
      node.sumNs = client.sumNs;
      node.maxNs = client.maxNs;
      node.buckets = client.buckets;
    }
  }
  return graph;
}

export interface GraphWindowRef {
  windowId: string;
  revision: number;
  startNs: bigint;
  endNs: bigint;
}

/** The stored documents of a window's graph, with ids that a redelivery overwrites. */
export function graphDocuments(graph: WindowGraph, window: GraphWindowRef) {
  const common = {
    window_id: window.windowId,
    window_revision: window.revision,
    window_start_ns: window.startNs,
    window_end_ns: window.endNs,
  };
  const docs: Array<{ id: string; source: Record<string, unknown> }> = [];
  for (const [service, acc] of graph.nodes) {
    docs.push({
      id: graphId(window.windowId, "node", service),
      source: { kind: "node", service, ...common, ...stats(acc) },
    });
  }
  for (const edge of graph.edges.values()) {
    docs.push({
      id: graphId(window.windowId, "edge", edge.source, edge.target, edge.protocol),
      source: {
        kind: "edge",
        source: edge.source,
        target: edge.target,
        protocol: edge.protocol,
        ...common,
        ...stats(edge),
      },
    });
  }
  return docs;
}

function stats(acc: GraphAccumulator) {
  const indices = [...acc.buckets.keys()].sort((a, b) => a - b);
  return {
    call_count: acc.count,
    error_count: acc.errors,
    latency_sum_ns: acc.sumNs,
    latency_max_ns: acc.maxNs,
    latency_buckets: indices.map((bucket) => ({ bucket, count: acc.buckets.get(bucket) })),
  };
}

function graphId(windowId: string, ...parts: string[]): string {
  return createHash("sha256")
    .update([windowId, ...parts].join("\0"))
    .digest("hex")
    .slice(0, 40);
}
