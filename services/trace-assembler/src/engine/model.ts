/**
 * The engine's compact model: the spans of one batch in a canonical order (start time,
 * then span id) as parallel typed arrays. Times become float64 nanoseconds relative to the
 * batch's earliest start, converted once here, so the hot loops never touch bigint.
 * Strings the algorithms compare (processes, endpoints, connections) are interned to
 * small integers in canonical order, so every id (and everything derived) is the same for
 * the same set of spans whatever order they arrived in.
 */
import { Direction, type Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";

export const INGRESS = 1;
export const EGRESS = 2;

export interface SpanModel {
  n: number;
  /** Spans in canonical order; index i of every array below refers to spans[i]. */
  spans: readonly Span[];
  /** Earliest start (wall clock ns); times below are relative to it. */
  baseNs: bigint;
  start: Float64Array;
  end: Float64Array;
  /**
   * The end the engine believes: the captured end, except for an Egress span whose
   * response disagrees with its callee's (the agent paired it with another request's
   * response), where it is the callee's end moved to the caller's clock.
   */
  effectiveEnd: Float64Array;
  /** 1 for an Egress span whose captured response is known to belong to another request. */
  suspectResponse: Uint8Array;
  /** INGRESS, EGRESS or 0. */
  direction: Uint8Array;
  /** Interned agent + hostname + tgid: spans of one process share it. */
  process: Int32Array;
  thread: Uint32Array;
  /** Interned endpoint (protocol-aware, as on the span). */
  endpoint: Int32Array;
  /** Interned protocol + normalised 4-tuple: a caller's Egress and the callee's Ingress share it. */
  connection: Int32Array;
  /** Interned protocol + server port + endpoint: the NAT fallback key. */
  serverKey: Int32Array;
  /** Interned protocol + server address + endpoint: what an Egress span called. */
  downstream: Int32Array;
  /** Interned agent (host) of the span. */
  agent: Int32Array;
  /** Interned service identity (Span.service). */
  service: Int32Array;
  reqSize: Float64Array;
  respSize: Float64Array;
  /** Number of distinct values of each interned column. */
  counts: {
    process: number;
    endpoint: number;
    connection: number;
    serverKey: number;
    downstream: number;
    agent: number;
    service: number;
  };
}

class Interner {
  private readonly ids = new Map<string, number>();
  id(key: string): number {
    let v = this.ids.get(key);
    if (v === undefined) {
      v = this.ids.size;
      this.ids.set(key, v);
    }
    return v;
  }
  get size(): number {
    return this.ids.size;
  }
}

/** Canonical order: start time, then span id (ids are unique within a batch). */
export function canonicalOrder(spans: readonly Span[]): Span[] {
  const n = spans.length;
  if (n === 0) return [];
  let base = spans[0]?.startTimeNs as bigint;
  for (const s of spans) if (s.startTimeNs < base) base = s.startTimeNs;
  const rel = new Float64Array(n);
  for (let i = 0; i < n; i++) rel[i] = Number((spans[i] as Span).startTimeNs - base);
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    const d = (rel[a] as number) - (rel[b] as number);
    if (d !== 0) return d;
    const ia = (spans[a] as Span).spanId;
    const ib = (spans[b] as Span).spanId;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  return order.map((i) => spans[i] as Span);
}

export function buildModel(input: readonly Span[]): SpanModel {
  const spans = canonicalOrder(input);
  const n = spans.length;
  const baseNs = n > 0 ? (spans[0] as Span).startTimeNs : 0n;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const direction = new Uint8Array(n);
  const process = new Int32Array(n);
  const thread = new Uint32Array(n);
  const endpoint = new Int32Array(n);
  const connection = new Int32Array(n);
  const serverKey = new Int32Array(n);
  const downstream = new Int32Array(n);
  const agent = new Int32Array(n);
  const service = new Int32Array(n);
  const reqSize = new Float64Array(n);
  const respSize = new Float64Array(n);
  const processes = new Interner();
  const endpoints = new Interner();
  const connections = new Interner();
  const serverKeys = new Interner();
  const downstreams = new Interner();
  const agents = new Interner();
  const services = new Interner();
  for (let i = 0; i < n; i++) {
    const s = spans[i] as Span;
    start[i] = Number(s.startTimeNs - baseNs);
    end[i] = Number(s.endTimeNs - baseNs);
    direction[i] =
      s.direction === Direction.INGRESS ? INGRESS : s.direction === Direction.EGRESS ? EGRESS : 0;
    process[i] = processes.id(`${s.agent}\0${s.hostname}\0${s.tgid}`);
    thread[i] = s.threadId;
    endpoint[i] = endpoints.id(s.endpoint);
    const c = s.connection;
    const proto = s.protocol.toLowerCase();
    connection[i] = c
      ? connections.id(`${proto}\0${c.srcIp}\0${c.srcPort}\0${c.dstIp}\0${c.dstPort}`)
      : connections.id(`\0none\0${i}`);
    serverKey[i] = serverKeys.id(`${proto}\0${c?.srcPort ?? 0}\0${s.endpoint}`);
    downstream[i] = downstreams.id(
      `${proto}\0${c?.srcIp ?? ""}\0${c?.srcPort ?? 0}\0${s.endpoint}`,
    );
    agent[i] = agents.id(s.agent);
    service[i] = services.id(s.service);
    reqSize[i] = Number(s.reqSize);
    respSize[i] = Number(s.respSize);
  }
  return {
    n,
    spans,
    baseNs,
    start,
    end,
    effectiveEnd: Float64Array.from(end),
    suspectResponse: new Uint8Array(n),
    direction,
    process,
    thread,
    endpoint,
    connection,
    serverKey,
    downstream,
    agent,
    service,
    reqSize,
    respSize,
    counts: {
      process: processes.size,
      endpoint: endpoints.size,
      connection: connections.size,
      serverKey: serverKeys.size,
      downstream: downstreams.size,
      agent: agents.size,
      service: services.size,
    },
  };
}

/** Group span indices by an interned column, each group in canonical (start) order. */
export function groupBy(column: Int32Array, groups: number, include: (i: number) => boolean) {
  const count = new Int32Array(groups + 1);
  const n = column.length;
  for (let i = 0; i < n; i++) {
    if (!include(i)) continue;
    const g = (column[i] as number) + 1;
    count[g] = (count[g] as number) + 1;
  }
  for (let g = 0; g < groups; g++) count[g + 1] = (count[g + 1] as number) + (count[g] as number);
  const offsets = Int32Array.from(count);
  const members = new Int32Array(offsets[groups] as number);
  const fill = Int32Array.from(count);
  for (let i = 0; i < n; i++) {
    if (!include(i)) continue;
    const g = column[i] as number;
    members[fill[g] as number] = i;
    fill[g] = (fill[g] as number) + 1;
  }
  return { offsets, members };
}
