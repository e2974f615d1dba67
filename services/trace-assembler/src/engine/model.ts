/**
 * The engine's compact model: the spans of one batch in a canonical order (start time,
 * then span id) as parallel typed arrays. Times become float64 nanoseconds relative to the
 * batch's earliest start, converted once here, so the hot loops never touch bigint.
 * Strings the algorithms compare (processes, endpoints, connections) are interned to
 * small integers in canonical order, so every id (and everything derived) is the same for
 * the same set of spans whatever order they arrived in.
 *
 * The model reads a SpanTable (columns); model index i is row `row[i]` of the table.
 */

import { Direction } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { SpanTable } from "@deeptrace/shared/spans/span-table";
import { NO_CONNECTION } from "@deeptrace/shared/spans/span-table";
import { NsColumn, nsBase } from "./ns-since.js";
import { TupleIds } from "./tuple-ids.js";

export const INGRESS = 1;
export const EGRESS = 2;

export interface SpanModel {
  n: number;
  /** The spans, in their input order. */
  table: SpanTable;
  /** Table row of model index i (canonical order). */
  row: Int32Array;
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

/** Ids by first appearance for a column of table string ids. */
class StringIds {
  private readonly ids: Int32Array;
  size = 0;
  constructor(strings: number) {
    this.ids = new Int32Array(strings).fill(-1);
  }
  id(stringId: number): number {
    let v = this.ids[stringId] as number;
    if (v < 0) {
      v = this.size++;
      this.ids[stringId] = v;
    }
    return v;
  }
}

/** Canonical order of the table's rows: start time, then span id (unique within a batch). */
export function canonicalOrder(table: SpanTable): Int32Array {
  const n = table.length;
  if (n === 0) return new Int32Array(0);
  const { startNs, spanId } = table;
  const starts = new NsColumn(startNs);
  const base = nsBase(startNs[starts.minRow()] as bigint);
  const rel = new Float64Array(n);
  for (let r = 0; r < n; r++) rel[r] = starts.since(r, base);
  const order = radixOrder(rel);
  // Equal starts: by span id.
  let from = 0;
  while (from < n) {
    let to = from + 1;
    const v = rel[order[from] as number] as number;
    while (to < n && rel[order[to] as number] === v) to++;
    if (to - from > 1) {
      const tied = Array.from(order.subarray(from, to)).sort((a, b) => {
        const ia = spanId.text(a);
        const ib = spanId.text(b);
        return ia < ib ? -1 : ia > ib ? 1 : 0;
      });
      order.set(tied, from);
    }
    from = to;
  }
  return order;
}

/** Index of the low 32-bit word of a float64 in a Uint32Array view (0 on little-endian). */
const LOW_WORD = new Uint32Array(new Float64Array([1]).buffer)[0] === 0 ? 0 : 1;

/**
 * Indices 0..n-1 stably sorted by `keys` (non-negative numbers): an LSD radix sort over
 * the 16-bit digits of their IEEE bits, which order non-negative doubles like the values.
 */
function radixOrder(keys: Float64Array): Int32Array {
  const n = keys.length;
  const words = new Uint32Array(keys.buffer, keys.byteOffset, n * 2);
  let order = Int32Array.from({ length: n }, (_, r) => r);
  let next = new Int32Array(n);
  const count = new Int32Array(1 << 16);
  // Digits from least significant: low and high half of the low word, then of the high word.
  for (let pass = 0; pass < 4; pass++) {
    const half = pass < 2 ? LOW_WORD : 1 - LOW_WORD;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let r = 0; r < n; r++) {
      const d = ((words[2 * r + half] as number) >>> shift) & 0xffff;
      count[d] = (count[d] as number) + 1;
    }
    if (count[((words[half] as number) >>> shift) & 0xffff] === n) continue; // one digit value
    let sum = 0;
    for (let d = 0; d < 1 << 16; d++) {
      const c = count[d] as number;
      count[d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const r = order[k] as number;
      const d = ((words[2 * r + half] as number) >>> shift) & 0xffff;
      next[count[d] as number] = r;
      count[d] = (count[d] as number) + 1;
    }
    [order, next] = [next, order];
  }
  return order;
}

export function buildModel(table: SpanTable): SpanModel {
  const row = canonicalOrder(table);
  const n = row.length;
  const { strings } = table;
  const baseNs = n > 0 ? (table.startNs[row[0] as number] as bigint) : 0n;
  const base = nsBase(baseNs);
  const starts = new NsColumn(table.startNs);
  const ends = new NsColumn(table.endNs);
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
  // Tuples are interned a field at a time (each step's id is the next step's prefix); only
  // the last step's ids are kept, assigned in canonical order like every other id.
  const S = strings.length + 1;
  const U32 = 2 ** 32;
  const agentHost = new TupleIds();
  const processes = new TupleIds();
  const endpoints = new StringIds(strings.length);
  const protocolIp = new TupleIds();
  const protocolIpPort = new TupleIds();
  const connectionHalf = new TupleIds();
  const protocolPort = new TupleIds();
  const connections = new TupleIds();
  const serverKeys = new TupleIds();
  const downstreams = new TupleIds();
  const agents = new StringIds(strings.length);
  const services = new StringIds(strings.length);
  // Protocols compare case-insensitively: one id per lower-cased protocol.
  const lowerIds = new Map<string, number>();
  const lowerOf = new Int32Array(strings.length).fill(-1);
  // A span without a connection reads as server address "" (as the Span's absent connection
  // did); string ids are shifted by one so that "no connection" is 0 when "" is not a string.
  const emptyString = strings.indexOf("") + 1;
  for (let i = 0; i < n; i++) {
    const r = row[i] as number;
    start[i] = starts.since(r, base);
    end[i] = ends.since(r, base);
    const d = table.direction[r];
    direction[i] = d === Direction.INGRESS ? INGRESS : d === Direction.EGRESS ? EGRESS : 0;
    process[i] = processes.id(
      agentHost.id(table.agent[r] as number, table.hostname[r] as number, S),
      table.tgid[r] as number,
      U32,
    );
    thread[i] = table.threadId[r] as number;
    const ep = table.endpoint[r] as number;
    endpoint[i] = endpoints.id(ep);
    const protocolId = table.protocol[r] as number;
    let proto = lowerOf[protocolId] as number;
    if (proto < 0) {
      const lower = (strings[protocolId] as string).toLowerCase();
      proto = lowerIds.get(lower) ?? lowerIds.size;
      lowerIds.set(lower, proto);
      lowerOf[protocolId] = proto;
    }
    const connected = table.srcIp[r] !== NO_CONNECTION;
    const srcIp = (table.srcIp[r] as number) + 1;
    const srcPort = table.srcPort[r] as number;
    const server = protocolIpPort.id(protocolIp.id(proto, srcIp, S), srcPort, U32);
    connection[i] = !connected
      ? connections.id(-1, i, U32)
      : connections.id(
          connectionHalf.id(server, (table.dstIp[r] as number) + 1, S),
          table.dstPort[r] as number,
          U32,
        );
    serverKey[i] = serverKeys.id(protocolPort.id(proto, srcPort, U32), ep, S);
    downstream[i] = downstreams.id(
      !connected ? protocolIpPort.id(protocolIp.id(proto, emptyString, S), srcPort, U32) : server,
      ep,
      S,
    );
    agent[i] = agents.id(table.agent[r] as number);
    service[i] = services.id(table.service[r] as number);
    reqSize[i] = table.reqSize[r] as number;
    respSize[i] = table.respSize[r] as number;
  }
  return {
    n,
    table,
    row,
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

/** The string of a table string column for model index i. */
export function textOf(model: SpanModel, column: Int32Array, i: number): string {
  return model.table.strings[column[model.row[i] as number] as number] as string;
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
