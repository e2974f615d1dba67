/**
 * Spans as columns: what the reconstruction engine reads of a batch, one typed array per
 * field, the low-cardinality strings interned once for the batch.
 *
 * The batch path (CLI, benchmark) appends each document's draft here and never builds a
 * protobuf Span: a million Span messages (each with its nested connection, id and label
 * objects and nine bigints) are tens of millions of heap objects, which V8 marks again on
 * every full collection. Span ids and payloads go into text arenas (bytes outside the heap).
 * The service path, which needs the Span messages anyway, gets a table over them with
 * `spanTableFromSpans` (their id and payload strings are shared, not copied).
 *
 * Rows are in append order. Times are int64 (as in the protobuf Span); the drafts reject
 * wall-clock times outside that range, so nothing wraps here.
 */
import { Direction, type ObservedId, type Span } from "../gen/deeptrace/span/v1/span_pb.js";
import { payloadSlot, REQUEST, RESPONSE } from "./payloads.js";
import { type ServiceRows, unifyServices } from "./service-identity.js";
import type { DerivedFields, SpanDraft } from "./span-draft.js";
import { StringTexts, TextArena, type Texts } from "./text-arena.js";

export interface SpanTable {
  readonly length: number;
  /** Interned strings: the string columns below hold indices into it. */
  readonly strings: readonly string[];
  /** Span ids by row. */
  readonly spanId: Texts;
  readonly agent: Int32Array;
  readonly hostname: Int32Array;
  readonly protocol: Int32Array;
  readonly endpoint: Int32Array;
  readonly service: Int32Array;
  readonly status: Int32Array;
  /** Normalised connection (src = server side); NO_CONNECTION when the span has none. */
  readonly srcIp: Int32Array;
  readonly dstIp: Int32Array;
  readonly srcPort: Uint32Array;
  readonly dstPort: Uint32Array;
  /** The protobuf Direction value. */
  readonly direction: Uint8Array;
  readonly tgid: Uint32Array;
  readonly threadId: Uint32Array;
  /** Wall clock (raw time plus clock offset), ns. */
  readonly startNs: BigInt64Array;
  readonly endNs: BigInt64Array;
  /** As captured (kernel monotonic clock), and the offset applied. */
  readonly rawStartNs: BigInt64Array;
  readonly rawEndNs: BigInt64Array;
  readonly clockOffsetNs: BigInt64Array;
  readonly reqSize: Float64Array;
  readonly respSize: Float64Array;
  readonly error: Uint8Array;
  readonly observedIds: readonly ObservedId[][];
  /** Payloads by payloadSlot(row, side). */
  readonly payloads: Texts;
}

/** srcIp / dstIp of a span without a connection. */
export const NO_CONNECTION = -1;

type Typed = Int32Array | Uint32Array | Uint8Array | Float64Array | BigInt64Array;

function grown<T extends Typed>(column: T, length: number): T {
  if (length < column.length) return column;
  const bigger = new (column.constructor as new (n: number) => T)(column.length * 2);
  bigger.set(column as never);
  return bigger;
}

const NO_IDS: ObservedId[] = [];

/** Builds a SpanTable row by row. */
export class SpanTableBuilder {
  private length = 0;
  private readonly ids = new Map<string, number>();
  private readonly strings: string[] = [];
  /** Shared observed-id arrays, by the value of their first id. */
  private readonly observedSets = new Map<string, ObservedId[]>();
  private readonly spanId: TextArena;
  private readonly observedIds: ObservedId[][] = [];
  private readonly payloads: TextArena;
  private agent: Int32Array;
  private hostname: Int32Array;
  private protocol: Int32Array;
  private endpoint: Int32Array;
  private service: Int32Array;
  private status: Int32Array;
  private srcIp: Int32Array;
  private dstIp: Int32Array;
  private srcPort: Uint32Array;
  private dstPort: Uint32Array;
  private direction: Uint8Array;
  private tgid: Uint32Array;
  private threadId: Uint32Array;
  private startNs: BigInt64Array;
  private endNs: BigInt64Array;
  private rawStartNs: BigInt64Array;
  private rawEndNs: BigInt64Array;
  private clockOffsetNs: BigInt64Array;
  private reqSize: Float64Array;
  private respSize: Float64Array;
  private error: Uint8Array;
  /** Whether the row's service may be unified per process (no container name). */
  private unifiable: Uint8Array;

  constructor(capacity = 1024) {
    const c = Math.max(16, capacity);
    this.agent = new Int32Array(c);
    this.hostname = new Int32Array(c);
    this.protocol = new Int32Array(c);
    this.endpoint = new Int32Array(c);
    this.service = new Int32Array(c);
    this.status = new Int32Array(c);
    this.srcIp = new Int32Array(c);
    this.dstIp = new Int32Array(c);
    this.srcPort = new Uint32Array(c);
    this.dstPort = new Uint32Array(c);
    this.direction = new Uint8Array(c);
    this.tgid = new Uint32Array(c);
    this.threadId = new Uint32Array(c);
    this.startNs = new BigInt64Array(c);
    this.endNs = new BigInt64Array(c);
    this.rawStartNs = new BigInt64Array(c);
    this.rawEndNs = new BigInt64Array(c);
    this.clockOffsetNs = new BigInt64Array(c);
    this.reqSize = new Float64Array(c);
    this.respSize = new Float64Array(c);
    this.error = new Uint8Array(c);
    this.unifiable = new Uint8Array(c);
    this.spanId = new TextArena(c);
    this.payloads = new TextArena(2 * c);
  }

  /** Index of `value` in the table's strings. */
  intern(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.strings.length;
      this.ids.set(value, id);
      this.strings.push(value);
    }
    return id;
  }

  /** Append a span from its draft and derived fields (the batch path): id and payloads into arenas. */
  appendDraft(d: SpanDraft, f: DerivedFields): void {
    const r = this.row();
    this.text(r, d.agent, d.hostname, d.protocol, f.endpoint, f.service, f.status);
    this.srcIp[r] = this.intern(d.connection.srcIp);
    this.dstIp[r] = this.intern(d.connection.dstIp);
    this.srcPort[r] = d.connection.srcPort;
    this.dstPort[r] = d.connection.dstPort;
    this.direction[r] = d.direction;
    this.tgid[r] = d.tgid;
    this.threadId[r] = d.threadId;
    this.startNs[r] = f.startTimeNs;
    this.endNs[r] = f.endTimeNs;
    this.rawStartNs[r] = d.rawStartNs;
    this.rawEndNs[r] = d.rawEndNs;
    this.clockOffsetNs[r] = d.clockOffsetNs;
    this.reqSize[r] = Number(d.reqSize);
    this.respSize[r] = Number(d.respSize);
    this.error[r] = f.error ? 1 : 0;
    this.unifiable[r] = d.containerName ? 0 : 1;
    this.spanId.append(r, f.spanId);
    this.observedIds.push(this.observedSet(f.observedIds));
    this.payloads.append(payloadSlot(r, REQUEST), d.reqPayload);
    this.payloads.append(payloadSlot(r, RESPONSE), d.respPayload);
  }

  /** Append a protobuf Span (the service path): its id and payloads stay on the Span. */
  appendSpan(s: Span): void {
    const r = this.row();
    this.text(r, s.agent, s.hostname, s.protocol, s.endpoint, s.service, s.status);
    const c = s.connection;
    this.srcIp[r] = c ? this.intern(c.srcIp) : NO_CONNECTION;
    this.dstIp[r] = c ? this.intern(c.dstIp) : NO_CONNECTION;
    this.srcPort[r] = c?.srcPort ?? 0;
    this.dstPort[r] = c?.dstPort ?? 0;
    this.direction[r] = s.direction;
    this.tgid[r] = s.tgid;
    this.threadId[r] = s.threadId;
    this.startNs[r] = s.startTimeNs;
    this.endNs[r] = s.endTimeNs;
    this.rawStartNs[r] = s.rawStartNs;
    this.rawEndNs[r] = s.rawEndNs;
    this.clockOffsetNs[r] = s.clockOffsetNs;
    this.reqSize[r] = Number(s.reqSize);
    this.respSize[r] = Number(s.respSize);
    this.error[r] = s.error ? 1 : 0;
    this.unifiable[r] = s.containerName ? 0 : 1;
    this.observedIds.push(s.observedIds);
  }

  /** The rows without a container name, for unifyServices. */
  serviceRows(): ServiceRows {
    const rows: number[] = [];
    for (let r = 0; r < this.length; r++) if (this.unifiable[r]) rows.push(r);
    const text = (column: Int32Array, r: number) => this.strings[column[r] as number] as string;
    return {
      rows,
      process: (r) => `${text(this.agent, r)}\0${text(this.hostname, r)}\0${this.tgid[r]}`,
      ingress: (r) => this.direction[r] === Direction.INGRESS,
      service: (r) => text(this.service, r),
      setService: (r, service) => {
        this.service[r] = this.intern(service);
      },
    };
  }

  /**
   * The table; `held` when the rows' span ids and payloads are held elsewhere (rows from
   * appendSpan keep them on their Spans).
   */
  finish(held?: { spanId: Texts; payloads: Texts }): SpanTable {
    const n = this.length;
    // Columns filled to capacity (the caller knew the row count) are handed over, not copied.
    const fit = <T extends Typed>(column: T): T =>
      column.length === n ? column : (column.slice(0, n) as T);
    return {
      length: n,
      strings: this.strings,
      spanId: held?.spanId ?? this.spanId,
      agent: fit(this.agent),
      hostname: fit(this.hostname),
      protocol: fit(this.protocol),
      endpoint: fit(this.endpoint),
      service: fit(this.service),
      status: fit(this.status),
      srcIp: fit(this.srcIp),
      dstIp: fit(this.dstIp),
      srcPort: fit(this.srcPort),
      dstPort: fit(this.dstPort),
      direction: fit(this.direction),
      tgid: fit(this.tgid),
      threadId: fit(this.threadId),
      startNs: fit(this.startNs),
      endNs: fit(this.endNs),
      rawStartNs: fit(this.rawStartNs),
      rawEndNs: fit(this.rawEndNs),
      clockOffsetNs: fit(this.clockOffsetNs),
      reqSize: fit(this.reqSize),
      respSize: fit(this.respSize),
      error: fit(this.error),
      observedIds: this.observedIds,
      payloads: held?.payloads ?? this.payloads,
    };
  }

  /** The next row, growing every column when full. */
  private row(): number {
    const r = this.length++;
    if (r === this.agent.length) {
      this.agent = grown(this.agent, r);
      this.hostname = grown(this.hostname, r);
      this.protocol = grown(this.protocol, r);
      this.endpoint = grown(this.endpoint, r);
      this.service = grown(this.service, r);
      this.status = grown(this.status, r);
      this.srcIp = grown(this.srcIp, r);
      this.dstIp = grown(this.dstIp, r);
      this.srcPort = grown(this.srcPort, r);
      this.dstPort = grown(this.dstPort, r);
      this.direction = grown(this.direction, r);
      this.tgid = grown(this.tgid, r);
      this.threadId = grown(this.threadId, r);
      this.startNs = grown(this.startNs, r);
      this.endNs = grown(this.endNs, r);
      this.rawStartNs = grown(this.rawStartNs, r);
      this.rawEndNs = grown(this.rawEndNs, r);
      this.clockOffsetNs = grown(this.clockOffsetNs, r);
      this.reqSize = grown(this.reqSize, r);
      this.respSize = grown(this.respSize, r);
      this.error = grown(this.error, r);
      this.unifiable = grown(this.unifiable, r);
    }
    return r;
  }

  private text(
    r: number,
    agent: string,
    hostname: string,
    protocol: string,
    endpoint: string,
    service: string,
    status: string,
  ): void {
    this.agent[r] = this.intern(agent);
    this.hostname[r] = this.intern(hostname);
    this.protocol[r] = this.intern(protocol);
    this.endpoint[r] = this.intern(endpoint);
    this.service[r] = this.intern(service);
    this.status[r] = this.intern(status);
  }

  /**
   * Spans carrying the same ids share one array (the ids of one request repeat on every
   * hop): the first array seen with a first value is shared by the later equal ones.
   */
  private observedSet(ids: ObservedId[]): ObservedId[] {
    const head = ids[0];
    if (head === undefined) return NO_IDS;
    const known = this.observedSets.get(head.value);
    if (known === undefined) {
      this.observedSets.set(head.value, ids);
      return ids;
    }
    if (known.length !== ids.length) return ids;
    for (let k = 0; k < ids.length; k++) {
      const a = known[k] as ObservedId;
      const b = ids[k] as ObservedId;
      if (a.kind !== b.kind || a.value !== b.value) return ids;
    }
    return known;
  }
}

/**
 * A table over protobuf Spans, in their order, with one service per process as the batch
 * path gives it: the span-poller converts documents one at a time, so a process's Egress
 * spans arrive named by their client address (or, on loopback, by host) while its Ingress
 * spans are named by the address it serves on.
 */
export function spanTableFromSpans(spans: readonly Span[]): SpanTable {
  const builder = new SpanTableBuilder(spans.length);
  for (const s of spans) builder.appendSpan(s);
  unifyServices(builder.serviceRows());
  const payloads: string[] = new Array(2 * spans.length);
  for (let r = 0; r < spans.length; r++) {
    const s = spans[r] as Span;
    payloads[payloadSlot(r, REQUEST)] = s.reqPayload;
    payloads[payloadSlot(r, RESPONSE)] = s.respPayload;
  }
  return builder.finish({
    spanId: new StringTexts(spans.map((s) => s.spanId)),
    payloads: new StringTexts(payloads),
  });
}
