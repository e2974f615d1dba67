import type {
  Connection,
  ObservedId,
  Span,
  SpanWindow,
} from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";

/** The bytes are not a well-formed SpanWindow (truncated, or a field with the wrong wire type). */
export class SpanWindowDecodeError extends Error {
  override name = "SpanWindowDecodeError";
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

/**
 * Decodes a SpanWindow from its protobuf encoding into the same message objects
 * `fromBinary(SpanWindowSchema, ...)` returns (proto3: every field present, zero when absent;
 * last value wins for scalars, repeated fields append, map entries replace by key), in about
 * half the time: the generic reflection decoder took as long as the engine itself for a
 * window (5.4 s for the 110 MB assembler benchmark backlog). Unknown fields are skipped, not
 * kept. Strings are decoded as UTF-8 with replacement characters, as `fromBinary` does.
 */
export function decodeSpanWindow(data: Uint8Array): SpanWindow {
  const reader = new WireReader(data);
  const window: SpanWindow = {
    $typeName: "deeptrace.span.v1.SpanWindow",
    windowId: "",
    startNs: 0n,
    endNs: 0n,
    marginNs: 0n,
    revision: 0,
    spans: [],
    agents: [],
  };
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    switch (field) {
      case 1:
        window.windowId = reader.string(wire, field);
        break;
      case 2:
        window.startNs = reader.int64(wire, field);
        break;
      case 3:
        window.endNs = reader.int64(wire, field);
        break;
      case 4:
        window.marginNs = reader.int64(wire, field);
        break;
      case 5:
        window.revision = reader.uint32(wire, field);
        break;
      case 6:
        window.spans.push(readSpan(reader, reader.message(wire, field)));
        break;
      case 7:
        window.agents.push(reader.string(wire, field));
        break;
      default:
        reader.skip(wire);
    }
  }
  return window;
}

function emptySpan(): Span {
  return {
    $typeName: "deeptrace.span.v1.Span",
    spanId: "",
    agent: "",
    sourceIndex: "",
    sourceDocId: "",
    direction: 0,
    protocol: "",
    endpoint: "",
    service: "",
    tgid: 0,
    threadId: 0,
    comm: "",
    containerId: "",
    containerName: "",
    hostname: "",
    startTimeNs: 0n,
    endTimeNs: 0n,
    rawStartNs: 0n,
    rawEndNs: 0n,
    clockOffsetNs: 0n,
    reqSize: 0n,
    respSize: 0n,
    reqPayload: "",
    respPayload: "",
    status: "",
    error: false,
    reqSeq: 0n,
    respSeq: 0n,
    observedIds: [],
    labels: {},
    connection: undefined,
  };
}

function readSpan(reader: WireReader, end: number): Span {
  const span = emptySpan();
  while (reader.pos < end) {
    const [field, wire] = reader.tag();
    switch (field) {
      case 1:
        span.spanId = reader.string(wire, field);
        break;
      case 2:
        span.agent = reader.repeatedString(wire, field);
        break;
      case 3:
        span.sourceIndex = reader.repeatedString(wire, field);
        break;
      case 4:
        span.sourceDocId = reader.string(wire, field);
        break;
      case 5:
        span.direction = reader.int32(wire, field);
        break;
      case 6:
        span.protocol = reader.repeatedString(wire, field);
        break;
      case 7:
        span.endpoint = reader.repeatedString(wire, field);
        break;
      case 8:
        span.service = reader.repeatedString(wire, field);
        break;
      case 9:
        span.tgid = reader.uint32(wire, field);
        break;
      case 10:
        span.threadId = reader.uint32(wire, field);
        break;
      case 11:
        span.comm = reader.repeatedString(wire, field);
        break;
      case 12:
        span.connection = readConnection(reader, reader.message(wire, field), span.connection);
        break;
      case 13:
        span.containerId = reader.repeatedString(wire, field);
        break;
      case 14:
        span.containerName = reader.repeatedString(wire, field);
        break;
      case 15:
        span.hostname = reader.repeatedString(wire, field);
        break;
      case 16:
        span.startTimeNs = reader.int64(wire, field);
        break;
      case 17:
        span.endTimeNs = reader.int64(wire, field);
        break;
      case 18:
        span.rawStartNs = reader.int64(wire, field);
        break;
      case 19:
        span.rawEndNs = reader.int64(wire, field);
        break;
      case 20:
        span.clockOffsetNs = reader.int64(wire, field);
        break;
      case 21:
        span.reqSize = reader.uint64(wire, field);
        break;
      case 22:
        span.respSize = reader.uint64(wire, field);
        break;
      case 23:
        span.reqPayload = reader.string(wire, field);
        break;
      case 24:
        span.respPayload = reader.string(wire, field);
        break;
      case 25:
        span.status = reader.repeatedString(wire, field);
        break;
      case 26:
        span.error = reader.varintNumber(wire, field) !== 0;
        break;
      case 27:
        span.reqSeq = reader.uint64(wire, field);
        break;
      case 28:
        span.respSeq = reader.uint64(wire, field);
        break;
      case 29:
        span.observedIds.push(readObservedId(reader, reader.message(wire, field)));
        break;
      case 30:
        readLabel(reader, reader.message(wire, field), span.labels);
        break;
      default:
        reader.skip(wire);
    }
  }
  reader.endOf(end);
  return span;
}

function readConnection(reader: WireReader, end: number, merged?: Connection): Connection {
  const connection: Connection = merged ?? {
    $typeName: "deeptrace.span.v1.Connection",
    l4Protocol: "",
    srcIp: "",
    srcPort: 0,
    dstIp: "",
    dstPort: 0,
  };
  while (reader.pos < end) {
    const [field, wire] = reader.tag();
    if (field === 1) connection.l4Protocol = reader.repeatedString(wire, field);
    else if (field === 2) connection.srcIp = reader.repeatedString(wire, field);
    else if (field === 3) connection.srcPort = reader.uint32(wire, field);
    else if (field === 4) connection.dstIp = reader.repeatedString(wire, field);
    else if (field === 5) connection.dstPort = reader.uint32(wire, field);
    else reader.skip(wire);
  }
  reader.endOf(end);
  return connection;
}

function readObservedId(reader: WireReader, end: number): ObservedId {
  const id: ObservedId = { $typeName: "deeptrace.span.v1.ObservedId", kind: "", value: "" };
  while (reader.pos < end) {
    const [field, wire] = reader.tag();
    if (field === 1) id.kind = reader.repeatedString(wire, field);
    else if (field === 2) id.value = reader.string(wire, field);
    else reader.skip(wire);
  }
  reader.endOf(end);
  return id;
}

function readLabel(reader: WireReader, end: number, labels: Record<string, string>): void {
  let key = "";
  let value = "";
  while (reader.pos < end) {
    const [field, wire] = reader.tag();
    if (field === 1) key = reader.repeatedString(wire, field);
    else if (field === 2) value = reader.string(wire, field);
    else reader.skip(wire);
  }
  reader.endOf(end);
  labels[key] = value;
}

/** Eight bytes a 64-bit varint is assembled in, then read back as a bigint. */
const SCRATCH = new DataView(new ArrayBuffer(8));

/** Strings up to this many bytes go through `ShortTexts`; longer ones (payloads) do not repeat. */
const SHORT_TEXT_BYTES = 64;

/**
 * The strings of a window's short repeating fields (agent, index, service, protocol, host,
 * addresses, status) recur in nearly every span: each distinct byte sequence is decoded once
 * and the same string returned after, so later maps keyed by it hash it once. A slot whose
 * bytes differ is replaced (a cache, not a set); the bytes are compared in full, so a hash
 * collision only costs a decode.
 */
class ShortTexts {
  private static readonly SLOTS = 4096;
  private readonly bytes: Array<Buffer | undefined> = new Array(ShortTexts.SLOTS);
  private readonly strings: string[] = new Array(ShortTexts.SLOTS);

  text(buffer: Buffer, start: number, end: number): string {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (buffer[i] as number), 0x01000193);
    const slot = (hash >>> 0) & (ShortTexts.SLOTS - 1);
    const known = this.bytes[slot];
    if (known !== undefined && known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) {
        if (known[i] !== buffer[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.strings[slot] as string;
    }
    const text = buffer.toString("utf8", start, end);
    this.bytes[slot] = Buffer.from(buffer.subarray(start, end));
    this.strings[slot] = text;
    return text;
  }
}

/** Reads protobuf wire format from a byte array; every read checks the bounds. */
class WireReader {
  pos = 0;
  private readonly buffer: Buffer;
  private readonly texts = new ShortTexts();

  constructor(data: Uint8Array) {
    this.buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  done(): boolean {
    return this.pos >= this.buffer.length;
  }

  tag(): [field: number, wire: number] {
    const tag = this.varintNumber(VARINT, 0);
    const field = Math.floor(tag / 8);
    if (field === 0) throw new SpanWindowDecodeError(`invalid field number 0 at byte ${this.pos}`);
    return [field, tag % 8];
  }

  /** A varint of at most 53 bits as a number (tags, lengths, 32-bit fields, bools). */
  varintNumber(wire: number, field: number): number {
    this.expect(wire, VARINT, field);
    const bytes = this.buffer;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= bytes.length) throw this.truncated();
      const byte = bytes[this.pos++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new SpanWindowDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /**
   * A 64-bit varint into `scratch` (little-endian): its low 32 bits, then its high 32 bits
   * (bits past the 64th are dropped, as a 64-bit field keeps them). The bigint is then read
   * back as signed or unsigned in one step; building it from parts took four bigint
   * operations per field, and times in nanoseconds never fit the fast path below 2^53.
   */
  private varint64(wire: number, field: number): void {
    this.expect(wire, VARINT, field);
    const bytes = this.buffer;
    let low = 0;
    let high = 0;
    let byte = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= bytes.length) throw this.truncated();
      byte = bytes[this.pos++] as number;
      low |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.scratch64(low, 0);
        return;
      }
    }
    if (this.pos >= bytes.length) throw this.truncated();
    byte = bytes[this.pos++] as number;
    low |= (byte & 0x0f) << 28;
    high = (byte & 0x70) >> 4;
    if (byte < 0x80) {
      this.scratch64(low, high);
      return;
    }
    for (let shift = 3; shift <= 31; shift += 7) {
      if (this.pos >= bytes.length) throw this.truncated();
      byte = bytes[this.pos++] as number;
      high |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.scratch64(low, high);
        return;
      }
    }
    throw new SpanWindowDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  private scratch64(low: number, high: number): void {
    SCRATCH.setUint32(0, low >>> 0, true);
    SCRATCH.setUint32(4, high >>> 0, true);
  }

  int64(wire: number, field: number): bigint {
    this.varint64(wire, field);
    return SCRATCH.getBigInt64(0, true);
  }

  uint64(wire: number, field: number): bigint {
    this.varint64(wire, field);
    return SCRATCH.getBigUint64(0, true);
  }

  uint32(wire: number, field: number): number {
    return this.varint32(wire, field) >>> 0;
  }

  int32(wire: number, field: number): number {
    return this.varint32(wire, field) | 0;
  }

  /** The low 32 bits of a varint (how 32-bit fields are read; negative int32 take 10 bytes). */
  private varint32(wire: number, field: number): number {
    this.expect(wire, VARINT, field);
    const bytes = this.buffer;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= bytes.length) throw this.truncated();
      const byte = bytes[this.pos++] as number;
      if (i < 5) value |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) return value;
    }
    throw new SpanWindowDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  string(wire: number, field: number): string {
    return this.text(wire, field, false);
  }

  /** A string field whose values repeat from span to span (agent, service, addresses...). */
  repeatedString(wire: number, field: number): string {
    return this.text(wire, field, true);
  }

  private text(wire: number, field: number, repeats: boolean): string {
    const end = this.message(wire, field);
    const text =
      repeats && end - this.pos <= SHORT_TEXT_BYTES
        ? this.texts.text(this.buffer, this.pos, end)
        : this.buffer.toString("utf8", this.pos, end);
    this.pos = end;
    return text;
  }

  /** Reads a length prefix; returns where the embedded bytes end (the caller reads up to it). */
  message(wire: number, field: number): number {
    this.expect(wire, LENGTH, field);
    const length = this.varintNumber(VARINT, field);
    const end = this.pos + length;
    if (end > this.buffer.length) throw this.truncated();
    return end;
  }

  endOf(end: number): void {
    if (this.pos !== end) {
      throw new SpanWindowDecodeError(`embedded message overruns its length at byte ${this.pos}`);
    }
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varintNumber(VARINT, 0);
    else if (wire === FIXED64) this.advance(8);
    else if (wire === FIXED32) this.advance(4);
    else if (wire === LENGTH) this.pos = this.message(LENGTH, 0);
    else throw new SpanWindowDecodeError(`unsupported wire type ${wire} at byte ${this.pos}`);
  }

  private advance(bytes: number): void {
    if (this.pos + bytes > this.buffer.length) throw this.truncated();
    this.pos += bytes;
  }

  private expect(wire: number, expected: number, field: number): void {
    if (wire !== expected) {
      throw new SpanWindowDecodeError(
        `field ${field} has wire type ${wire}, expected ${expected} (byte ${this.pos})`,
      );
    }
  }

  private truncated(): SpanWindowDecodeError {
    return new SpanWindowDecodeError(`truncated at byte ${this.pos} of ${this.buffer.length}`);
  }
}
