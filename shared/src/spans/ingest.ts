/**
 * Documents in, spans out (protobuf Spans, or a SpanTable). Each document is converted by
 * the adapter of its format (given, or detected per document) into a draft, malformed ones
 * are rejected with a reason and counted, and nothing a document contains can crash the run.
 *
 * Wrapped documents are unwrapped: Elasticsearch hits `{ _index, _id, _source }` and the
 * workload generator's lines `{ index, id, doc }`. The index names the agent
 * (`spans_<agent>`) and the id makes the span id deterministic.
 */
import type { Span } from "../gen/deeptrace/span/v1/span_pb.js";
import { draftFromAgentDocument } from "./agent-document.js";
import { agentForIndex, type DocumentContext } from "./document-context.js";
import { isObject, MalformedDocument } from "./document-fields.js";
import { draftFromFlatDocument } from "./flat-document.js";
import { detectFormat, type SpanFormat } from "./format-detect.js";
import {
  type IngestResult,
  type IngestSummary,
  MAX_EXAMPLES,
  type Rejection,
  type TableIngestResult,
} from "./ingest-result.js";
import { draftFromPair } from "./pairs-dump.js";
import { unifyProcessServices, unifyServices } from "./service-identity.js";
import { completeSpan, type DerivedFields, deriveFields, type SpanDraft } from "./span-draft.js";
import { SpanIdSet } from "./span-id-set.js";
import { SpanTableBuilder } from "./span-table.js";

export interface IngestOptions {
  /** Adapter to use; "auto" detects it per document. */
  format: SpanFormat | "auto";
  /** Index (or file name) of documents that do not name their own index. */
  index: string;
  /** Agent of documents without their own index; defaults to agentForIndex(index). */
  agent?: string;
  /** Clock offset (wall clock minus monotonic) per agent; 0 for agents not listed. */
  clockOffsetsNs?: ReadonlyMap<string, bigint>;
}

const ADAPTERS: Record<SpanFormat, (doc: unknown, ctx: DocumentContext) => SpanDraft> = {
  agent: draftFromAgentDocument,
  flat: draftFromFlatDocument,
  pairs: draftFromPair,
};

/** The agent of an index, and that agent's clock offset. */
interface Source {
  agent: string;
  clockOffsetNs: bigint;
}

/** Where a reader feeds documents: either ingestor. */
export interface DocumentSink {
  add(document: unknown, position: number): void;
  rejectUnparsed(position: number, reason: string): void;
}

/**
 * Unwrapping, format detection, rejection and de-duplication of documents; what an
 * accepted span is stored as is up to the subclass (protobuf Spans or a SpanTable).
 */
abstract class Ingestor implements DocumentSink {
  private readonly seen: SpanIdSet;
  private readonly reasons = new Map<string, number>();
  private readonly examples: Rejection[] = [];
  private readonly formats: Partial<Record<SpanFormat, number>> = {};
  private read = 0;
  private rejected = 0;

  /**
   * Agent and clock offset by index: one string object per agent for the whole batch,
   * looked up once per index rather than sliced and looked up per document.
   */
  private readonly sources = new Map<string, Source>();
  /** Of documents that do not name their index. */
  private readonly defaultSource: Source;

  /** `capacity`: expected documents (only a hint). */
  constructor(
    private readonly options: IngestOptions,
    capacity?: number,
  ) {
    this.seen = new SpanIdSet(capacity);
    this.defaultSource = this.source(options.agent ?? agentForIndex(options.index));
  }

  private sourceOf(index: string): Source {
    let source = this.sources.get(index);
    if (source === undefined) {
      source = this.source(agentForIndex(index));
      this.sources.set(index, source);
    }
    return source;
  }

  private source(agent: string): Source {
    return { agent, clockOffsetNs: this.options.clockOffsetsNs?.get(agent) ?? 0n };
  }

  /** Store one accepted span. */
  protected abstract accept(draft: SpanDraft, fields: DerivedFields): void;

  /** Convert one parsed document (position = its place in the input). */
  add(document: unknown, position: number): void {
    this.read++;
    let doc = document;
    let index = this.options.index;
    let source = this.defaultSource;
    let docId: string | undefined;
    const wrapper = unwrap(doc);
    if (wrapper) {
      if (wrapper.index) {
        index = wrapper.index;
        source = this.sourceOf(index);
      }
      docId = wrapper.id;
      doc = wrapper.doc;
    }
    const format = this.options.format === "auto" ? detectFormat(doc) : this.options.format;
    if (format === undefined) {
      this.reject(position, "unrecognised document format");
      return;
    }
    let draft: SpanDraft;
    let fields: DerivedFields;
    try {
      draft = ADAPTERS[format](doc, {
        agent: source.agent,
        index,
        docId,
        clockOffsetNs: source.clockOffsetNs,
      });
      fields = deriveFields(draft);
    } catch (err) {
      if (err instanceof MalformedDocument) {
        this.reject(position, `${format}: ${err.reason}`);
        return;
      }
      throw err;
    }
    if (!this.seen.add(fields.spanId)) {
      this.reject(position, "duplicate document (same span id)");
      return;
    }
    this.accept(draft, fields);
    this.formats[format] = (this.formats[format] ?? 0) + 1;
  }

  private reject(position: number, reason: string): void {
    this.rejected++;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    if (this.examples.length < MAX_EXAMPLES) this.examples.push({ position, reason });
  }

  /** Count a document that could not even be parsed (a bad JSON line) as read and rejected. */
  rejectUnparsed(position: number, reason: string): void {
    this.read++;
    this.reject(position, reason);
  }

  /** What was read and rejected. */
  protected summary(): IngestSummary {
    const reasons: Record<string, number> = {};
    for (const key of [...this.reasons.keys()].sort())
      reasons[key] = this.reasons.get(key) as number;
    return {
      read: this.read,
      rejected: this.rejected,
      reasons,
      examples: this.examples,
      formats: this.formats,
    };
  }
}

/** Documents in, protobuf Spans out (the service path, and where Span messages are wanted). */
export class SpanIngestor extends Ingestor {
  private readonly spans: Span[] = [];
  /**
   * One string object per distinct value of the low-cardinality fields (agent, index,
   * protocol, addresses, process and container identity, service, status): every document
   * parses its own copy, and a million spans would otherwise keep millions of duplicates
   * alive for the garbage collector to mark again and again.
   */
  private readonly strings = new Map<string, string>();

  protected accept(draft: SpanDraft, fields: DerivedFields): void {
    const span = completeSpan(draft, fields);
    this.share(span);
    this.spans.push(span);
  }

  private intern(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }

  private share(span: Span): void {
    span.agent = this.intern(span.agent);
    span.sourceIndex = this.intern(span.sourceIndex);
    span.protocol = this.intern(span.protocol);
    span.service = this.intern(span.service);
    span.comm = this.intern(span.comm);
    span.containerId = this.intern(span.containerId);
    span.containerName = this.intern(span.containerName);
    span.hostname = this.intern(span.hostname);
    span.status = this.intern(span.status);
    const c = span.connection;
    if (c) {
      c.l4Protocol = this.intern(c.l4Protocol);
      c.srcIp = this.intern(c.srcIp);
      c.dstIp = this.intern(c.dstIp);
    }
  }

  finish(): IngestResult {
    unifyProcessServices(this.spans);
    return { ...this.summary(), spans: this.spans };
  }
}

/**
 * Documents in, a SpanTable out: the batch path (CLI, benchmark), which builds no
 * protobuf Span per document.
 */
export class SpanTableIngestor extends Ingestor {
  private readonly table: SpanTableBuilder;

  /** `capacity`: expected spans (the table grows past it). */
  constructor(options: IngestOptions, capacity?: number) {
    super(options, capacity);
    this.table = new SpanTableBuilder(capacity);
  }

  protected accept(draft: SpanDraft, fields: DerivedFields): void {
    this.table.appendDraft(draft, fields);
  }

  finish(): TableIngestResult {
    unifyServices(this.table.serviceRows());
    return { ...this.summary(), table: this.table.finish() };
  }
}

/** A wrapped document's parts, or undefined when `value` is a bare document. */
function unwrap(value: unknown): { index?: string; id?: string; doc: unknown } | undefined {
  if (!isObject(value)) return undefined;
  if (isObject(value._source)) return wrapped(value._index, value._id, value._source);
  if (isObject(value.doc) && !("tag" in value)) return wrapped(value.index, value.id, value.doc);
  return undefined;
}

function wrapped(
  index: unknown,
  id: unknown,
  doc: unknown,
): { index?: string; id?: string; doc: unknown } {
  return {
    index: typeof index === "string" && index ? index : undefined,
    id: typeof id === "string" && id ? id : undefined,
    doc,
  };
}

/** Ingest an in-memory collection of documents. */
export function ingestDocuments(docs: Iterable<unknown>, options: IngestOptions): IngestResult {
  const ingestor = new SpanIngestor(options);
  let position = 0;
  for (const doc of docs) ingestor.add(doc, position++);
  return ingestor.finish();
}

/** Ingest an in-memory collection of documents into a SpanTable. */
export function ingestTable(docs: Iterable<unknown>, options: IngestOptions): TableIngestResult {
  const ingestor = new SpanTableIngestor(options);
  let position = 0;
  for (const doc of docs) ingestor.add(doc, position++);
  return ingestor.finish();
}
