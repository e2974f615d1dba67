/**
 * The service graph of the emitted traces: a node per service (Span.service, the one id
 * space for services) with its span and error counts and the latency of the requests it
 * served, and an edge per (caller service, callee service, protocol) for every
 * cross-component link, with call and error counts and the caller-observed latency.
 * Calls to components that are not traced (no callee span) are not edges: there is no
 * service identity on the other end to draw them to.
 */
import type {
  LatencyStats,
  ServiceEdge,
  ServiceGraph,
  ServiceNode,
} from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { LINK_CROSS, type Links } from "./links.js";
import { INGRESS, type SpanModel } from "./model.js";

interface Tally {
  spans: number;
  errors: number;
  durations: number[];
}

export function serviceGraph(
  model: SpanModel,
  links: Links,
  members: readonly Int32Array[],
): ServiceGraph {
  const { start, end, row, table } = model;
  const { strings } = table;
  const serviceOf = (i: number) => strings[table.service[row[i] as number] as number] as string;
  const nodes = new Map<string, Tally>();
  const nodeLatency = new Map<string, number[]>();
  const edges = new Map<string, Tally & { source: string; target: string; protocol: string }>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const ids of members) {
    for (const i of ids) {
      const service = serviceOf(i);
      const failed = table.error[row[i] as number] === 1;
      const d = (end[i] as number) - (start[i] as number);
      if ((start[i] as number) < first) first = start[i] as number;
      if ((end[i] as number) > last) last = end[i] as number;
      let node = nodes.get(service);
      if (!node) {
        node = { spans: 0, errors: 0, durations: [] };
        nodes.set(service, node);
        nodeLatency.set(service, []);
      }
      node.spans++;
      if (failed) node.errors++;
      if (model.direction[i] === INGRESS) node.durations.push(d);
      else (nodeLatency.get(service) as number[]).push(d);
      const p = links.parent[i] as number;
      if (p >= 0 && links.kind[i] === LINK_CROSS) {
        const callerRow = row[p] as number;
        const caller = serviceOf(p);
        const protocol = strings[table.protocol[callerRow] as number] as string;
        const key = `${caller}\0${service}\0${protocol}`;
        let edge = edges.get(key);
        if (!edge) {
          edge = {
            source: caller,
            target: service,
            protocol,
            spans: 0,
            errors: 0,
            durations: [],
          };
          edges.set(key, edge);
        }
        edge.spans++;
        if (table.error[callerRow] === 1 || failed) edge.errors++;
        edge.durations.push((end[p] as number) - (start[p] as number));
      }
    }
  }
  const graphNodes: ServiceNode[] = [...nodes.keys()].sort().map((service) => {
    const t = nodes.get(service) as Tally;
    // A service that served nothing (a pure client) is described by its calls.
    const durations = t.durations.length > 0 ? t.durations : (nodeLatency.get(service) as number[]);
    return {
      $typeName: "deeptrace.trace.v1.ServiceNode",
      service,
      spanCount: BigInt(t.spans),
      errorCount: BigInt(t.errors),
      latency: latencyStats(durations),
    };
  });
  const graphEdges: ServiceEdge[] = [...edges.keys()].sort().map((key) => {
    const e = edges.get(key) as Tally & { source: string; target: string; protocol: string };
    return {
      $typeName: "deeptrace.trace.v1.ServiceEdge",
      source: e.source,
      target: e.target,
      protocol: e.protocol,
      callCount: BigInt(e.spans),
      errorCount: BigInt(e.errors),
      latency: latencyStats(e.durations),
    };
  });
  const empty = members.length === 0;
  return {
    $typeName: "deeptrace.trace.v1.ServiceGraph",
    nodes: graphNodes,
    edges: graphEdges,
    startTimeNs: empty ? 0n : model.baseNs + BigInt(Math.round(first)),
    endTimeNs: empty ? 0n : model.baseNs + BigInt(Math.round(last)),
  };
}

/** Nearest-rank percentiles of durations (ns). */
export function latencyStats(durations: readonly number[]): LatencyStats {
  const sorted = Float64Array.from(durations).sort();
  const n = sorted.length;
  const rank = (q: number) =>
    n === 0 ? 0 : (sorted[Math.min(n - 1, Math.ceil(q * n) - 1)] as number);
  let sum = 0;
  for (const d of sorted) sum += d;
  return {
    $typeName: "deeptrace.trace.v1.LatencyStats",
    p50Ns: BigInt(Math.round(rank(0.5))),
    p90Ns: BigInt(Math.round(rank(0.9))),
    p99Ns: BigInt(Math.round(rank(0.99))),
    maxNs: BigInt(Math.round(n === 0 ? 0 : (sorted[n - 1] as number))),
    meanNs: BigInt(Math.round(n === 0 ? 0 : sum / n)),
  };
}
