import { toBinary } from "@bufbuild/protobuf";
import { type Span, SpanSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { SpanSizes } from "./window-planner.js";

/** One document read from an agent index. */
export interface BufferedDoc {
  /** Wall-clock start time. */
  timeNs: bigint;
  docId: string;
  /** Undefined for a document the adapter rejected: counted, never published. */
  span: Span | undefined;
  /** Bytes the span adds to a window message (field tag and length included). */
  bytes: number;
}

/** A buffered document for a span, with its size inside a window message. */
export function bufferedSpan(span: Span, docId: string): BufferedDoc {
  const length = toBinary(SpanSchema, span).length;
  return { timeNs: span.startTimeNs, docId, span, bytes: 1 + varintLength(length) + length };
}

function varintLength(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

class AgentDocs {
  readonly entries: BufferedDoc[] = [];
  readonly ids = new Set<string>();
  private cumulative: number[] | undefined;

  add(doc: BufferedDoc): boolean {
    if (this.ids.has(doc.docId)) return false;
    this.ids.add(doc.docId);
    const last = this.entries[this.entries.length - 1];
    if (!last || last.timeNs <= doc.timeNs) {
      this.entries.push(doc);
      if (this.cumulative) {
        this.cumulative.push((this.cumulative[this.cumulative.length - 1] ?? 0) + doc.bytes);
      }
    } else {
      this.entries.splice(this.lowerBound(doc.timeNs + 1n), 0, doc);
      this.cumulative = undefined;
    }
    return true;
  }

  dropBefore(tNs: bigint): void {
    const n = this.lowerBound(tNs);
    if (n === 0) return;
    for (const doc of this.entries.splice(0, n)) this.ids.delete(doc.docId);
    this.cumulative = undefined;
  }

  /** Index of the first entry with time >= t. */
  lowerBound(tNs: bigint): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as BufferedDoc).timeNs < tNs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  bytesIn(fromNs: bigint, toNs: bigint): number {
    if (!this.cumulative) {
      this.cumulative = [0];
      let sum = 0;
      for (const doc of this.entries) {
        sum += doc.bytes;
        this.cumulative.push(sum);
      }
    }
    const c = this.cumulative;
    return (c[this.lowerBound(toNs)] ?? 0) - (c[this.lowerBound(fromNs)] ?? 0);
  }
}

/**
 * The documents read but not yet behind every window that needs them, per agent, in
 * start-time order. A document id is kept once, so re-reads merge instead of duplicating.
 */
export class SpanBuffer implements SpanSizes {
  private readonly agents = new Map<string, AgentDocs>();

  /** Adds a document; false when the agent's buffer already holds it. */
  add(agent: string, doc: BufferedDoc): boolean {
    let docs = this.agents.get(agent);
    if (!docs) {
      docs = new AgentDocs();
      this.agents.set(agent, docs);
    }
    return docs.add(doc);
  }

  removeAgent(agent: string): void {
    this.agents.delete(agent);
  }

  /** Forgets documents that start before t: no window still to come needs them. */
  dropBefore(tNs: bigint): void {
    for (const docs of this.agents.values()) docs.dropBefore(tNs);
  }

  get size(): number {
    let n = 0;
    for (const docs of this.agents.values()) n += docs.entries.length;
    return n;
  }

  bytesIn(fromNs: bigint, toNs: bigint): number {
    let bytes = 0;
    for (const docs of this.agents.values()) bytes += docs.bytesIn(fromNs, toNs);
    return bytes;
  }

  firstAtOrAfter(tNs: bigint): bigint | undefined {
    let first: bigint | undefined;
    for (const docs of this.agents.values()) {
      const doc = docs.entries[docs.lowerBound(tNs)];
      if (doc && (first === undefined || doc.timeNs < first)) first = doc.timeNs;
    }
    return first;
  }

  /** Documents of one agent (rejected ones included) starting in [fromNs, toNs). */
  documentsIn(agent: string, fromNs: bigint, toNs: bigint): number {
    const docs = this.agents.get(agent);
    return docs ? docs.lowerBound(toNs) - docs.lowerBound(fromNs) : 0;
  }

  /** The spans of all agents starting in [fromNs, toNs), ordered by start time. */
  spansIn(fromNs: bigint, toNs: bigint): Span[] {
    const spans: Span[] = [];
    for (const docs of this.agents.values()) {
      for (let i = docs.lowerBound(fromNs); i < docs.entries.length; i++) {
        const doc = docs.entries[i] as BufferedDoc;
        if (doc.timeNs >= toNs) break;
        if (doc.span) spans.push(doc.span);
      }
    }
    return spans.sort(byStartThenId);
  }
}

export function byStartThenId(a: Span, b: Span): number {
  if (a.startTimeNs !== b.startTimeNs) return a.startTimeNs < b.startTimeNs ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}
