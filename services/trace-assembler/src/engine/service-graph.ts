/**
 * The service graph of the emitted traces: a node per service (Span.service, the one id
 * space for services) with its span and error counts and the latency of the requests it
 * served, and an edge per (caller service, callee service, protocol) for every
 * cross-component link, with call and error counts and the caller-observed latency.
 * Calls to components that are not traced (no callee span) are not edges: there is no
 * service identity on the other end to draw them to.
 *
 * Counted on the model's interned service ids into typed arrays (two passes: count, then
 * fill); names are looked up only for the nodes and edges found.
 */
import type {
  LatencyStats,
  ServiceEdge,
  ServiceGraph,
  ServiceNode,
} from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { LINK_CROSS, type Links } from "./links.js";
import { INGRESS, type SpanModel } from "./model.js";
import { TupleIds } from "./tuple-ids.js";

export function serviceGraph(
  model: SpanModel,
  links: Links,
  members: readonly Int32Array[],
): ServiceGraph {
  const { start, end, row, table, service, direction } = model;
  const { strings } = table;
  const nServices = model.counts.service;
  const S = strings.length;
  // Per service: spans, errors, served (Ingress) and made (Egress) requests.
  const spans = new Int32Array(nServices);
  const errors = new Int32Array(nServices);
  const served = new Int32Array(nServices + 1);
  const made = new Int32Array(nServices + 1);
  // Per edge (caller service, callee service, caller protocol): calls and errors.
  const edgeIds = new TupleIds();
  const servicePair = new TupleIds();
  const edgeOf = new Int32Array(model.n).fill(-1);
  const edgeParts: number[] = [];
  const calls: number[] = [];
  const edgeErrors: number[] = [];
  const failed = (i: number) => table.error[row[i] as number] === 1;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const ids of members) {
    for (const i of ids) {
      const s = service[i] as number;
      if ((start[i] as number) < first) first = start[i] as number;
      if ((end[i] as number) > last) last = end[i] as number;
      spans[s] = (spans[s] as number) + 1;
      if (failed(i)) errors[s] = (errors[s] as number) + 1;
      if (direction[i] === INGRESS) served[s + 1] = (served[s + 1] as number) + 1;
      else made[s + 1] = (made[s + 1] as number) + 1;
      const p = links.parent[i] as number;
      if (p < 0 || links.kind[i] !== LINK_CROSS) continue;
      const protocol = table.protocol[row[p] as number] as number;
      const e = edgeIds.id(servicePair.id(service[p] as number, s, nServices), protocol, S);
      if (e === calls.length) {
        edgeParts.push(service[p] as number, s, protocol);
        calls.push(0);
        edgeErrors.push(0);
      }
      edgeOf[i] = e;
      calls[e] = (calls[e] as number) + 1;
      if (failed(p) || failed(i)) edgeErrors[e] = (edgeErrors[e] as number) + 1;
    }
  }
  // Durations grouped by service (served, made) and by edge: offsets, then fill.
  for (let s = 0; s < nServices; s++) {
    served[s + 1] = (served[s + 1] as number) + (served[s] as number);
    made[s + 1] = (made[s + 1] as number) + (made[s] as number);
  }
  const edgeStart = new Int32Array(calls.length + 1);
  for (let e = 0; e < calls.length; e++)
    edgeStart[e + 1] = (edgeStart[e] as number) + (calls[e] as number);
  const servedDurations = new Float64Array(served[nServices] as number);
  const madeDurations = new Float64Array(made[nServices] as number);
  const edgeDurations = new Float64Array(edgeStart[calls.length] as number);
  const servedFill = served.slice(0, nServices);
  const madeFill = made.slice(0, nServices);
  const edgeFill = edgeStart.slice(0, calls.length);
  for (const ids of members) {
    for (const i of ids) {
      const s = service[i] as number;
      const d = (end[i] as number) - (start[i] as number);
      if (direction[i] === INGRESS) {
        servedDurations[servedFill[s] as number] = d;
        servedFill[s] = (servedFill[s] as number) + 1;
      } else {
        madeDurations[madeFill[s] as number] = d;
        madeFill[s] = (madeFill[s] as number) + 1;
      }
      const e = edgeOf[i] as number;
      if (e < 0) continue;
      const p = links.parent[i] as number;
      edgeDurations[edgeFill[e] as number] = (end[p] as number) - (start[p] as number);
      edgeFill[e] = (edgeFill[e] as number) + 1;
    }
  }
  const nameOf = new Map<number, string>();
  for (let i = 0; i < model.n; i++) {
    const s = service[i] as number;
    if (!nameOf.has(s)) nameOf.set(s, strings[table.service[row[i] as number] as number] as string);
  }
  const name = (s: number) => nameOf.get(s) as string;
  const nodeIds: number[] = [];
  for (let s = 0; s < nServices; s++) if ((spans[s] as number) > 0) nodeIds.push(s);
  nodeIds.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  const graphNodes: ServiceNode[] = nodeIds.map((s) => {
    // A service that served nothing (a pure client) is described by its calls.
    const servedFrom = served[s] as number;
    const servedTo = served[s + 1] as number;
    const durations =
      servedTo > servedFrom
        ? servedDurations.subarray(servedFrom, servedTo)
        : madeDurations.subarray(made[s] as number, made[s + 1] as number);
    return {
      $typeName: "deeptrace.trace.v1.ServiceNode",
      service: name(s),
      spanCount: BigInt(spans[s] as number),
      errorCount: BigInt(errors[s] as number),
      latency: latencyStats(durations),
    };
  });
  const edges = calls.map((_, e) => {
    const source = name(edgeParts[3 * e] as number);
    const target = name(edgeParts[3 * e + 1] as number);
    const protocol = strings[edgeParts[3 * e + 2] as number] as string;
    return { e, source, target, protocol, key: `${source}\0${target}\0${protocol}` };
  });
  edges.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const graphEdges: ServiceEdge[] = edges.map(({ e, source, target, protocol }) => ({
    $typeName: "deeptrace.trace.v1.ServiceEdge",
    source,
    target,
    protocol,
    callCount: BigInt(calls[e] as number),
    errorCount: BigInt(edgeErrors[e] as number),
    latency: latencyStats(
      edgeDurations.subarray(edgeStart[e] as number, edgeStart[e + 1] as number),
    ),
  }));
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
export function latencyStats(durations: ArrayLike<number>): LatencyStats {
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
