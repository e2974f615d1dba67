import type { Client } from "@elastic/elasticsearch";
import type { WindowBounds } from "./window-pieces.js";

/** A published window, as recorded after JetStream stored it. */
export interface WindowRecord {
  windowId: string;
  startNs: bigint;
  endNs: bigint;
  marginNs: bigint;
  revision: number;
  /** JetStream message id: the window id, `<id>.r<revision>` for re-publications. */
  msgId: string;
  /**
   * The pieces the revision went out as when it did not fit into one message, each an
   * assembler window of its own (`w-<start>-<end>`); empty when one message held the window.
   */
  pieces: WindowBounds[];
  /**
   * Assembler windows of earlier revisions (the window itself or earlier pieces) this
   * revision does not use: each went out as an empty message at this revision.
   */
  retired: WindowBounds[];
  /** Spans carried, over all pieces (context copies included). */
  spanCount: number;
  memberCount: number;
  /** Size of the largest message. */
  payloadBytes: number;
  publishedAtNs: bigint;
  /**
   * Documents per agent starting in [start - margin, end + margin) that the message was
   * built from (rejected documents included): the count a late-span check compares with.
   */
  documents: Record<string, number>;
}

/** Where the poller stands. */
export interface PollerCursor {
  /** Start of the next new window; everything before it has been published. */
  nextStartNs: bigint | undefined;
  /** A window being published: re-published with the same message id after a crash. */
  pending: WindowRecord | undefined;
  /** Per agent read position (informational; a restart re-reads from nextStart - margin). */
  agents: Record<string, { rawTimeNs: string; docId: string }>;
  /**
   * Ranges before nextStart skipped as empty, within the repair horizon: still checked for
   * spans that arrive late, after a restart too.
   */
  gaps: TimeRange[];
}

export interface TimeRange {
  startNs: bigint;
  endNs: bigint;
}

const CURSOR_ID = "cursor";

interface WindowDoc {
  kind: "window";
  window_id: string;
  start_ns: string;
  end_ns: string;
  margin_ns: string;
  revision: number;
  msg_id: string;
  /** Absent in records written before windows could be cut into pieces. */
  pieces?: BoundsDoc[];
  retired?: BoundsDoc[];
  span_count: number;
  member_count: number;
  payload_bytes: number;
  published_at_ns: string;
  documents: Record<string, number>;
}

interface BoundsDoc {
  start_ns: string;
  end_ns: string;
  margin_ns: string;
}

interface CursorDoc {
  kind: "cursor";
  next_start_ns: string | null;
  pending: WindowDoc | null;
  agents: Record<string, { raw_time_ns: string; doc_id: string }>;
  /** Absent in cursors written before skipped ranges were kept. */
  gaps?: Array<{ start_ns: string; end_ns: string }>;
  updated_at: string;
}

/**
 * Durable poller state in the Elasticsearch index `<prefix>-poller-state`: one cursor
 * document and one document per window (overwritten by its re-publications). Nanosecond
 * times are stored as strings (exact beyond 2^53) into long fields (sortable).
 */
export class StateStore {
  constructor(
    private readonly es: Client,
    readonly index: string,
  ) {}

  async ensureIndex(): Promise<void> {
    const exists = await this.es.indices.exists({ index: this.index });
    if (exists) return;
    try {
      await this.es.indices.create({
        index: this.index,
        settings: { number_of_shards: 1, auto_expand_replicas: "0-1" },
        mappings: {
          dynamic: false,
          properties: {
            kind: { type: "keyword" },
            window_id: { type: "keyword" },
            start_ns: { type: "long" },
            end_ns: { type: "long" },
            published_at_ns: { type: "long" },
          },
        },
      });
    } catch (error) {
      const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error
        ?.type;
      if (type !== "resource_already_exists_exception") throw error;
    }
  }

  async loadCursor(): Promise<PollerCursor | undefined> {
    try {
      const doc = await this.es.get<CursorDoc>({ index: this.index, id: CURSOR_ID });
      const s = doc._source as CursorDoc;
      const agents: PollerCursor["agents"] = {};
      for (const [name, c] of Object.entries(s.agents ?? {})) {
        agents[name] = { rawTimeNs: c.raw_time_ns, docId: c.doc_id };
      }
      return {
        nextStartNs: s.next_start_ns === null ? undefined : BigInt(s.next_start_ns),
        pending: s.pending ? fromDoc(s.pending) : undefined,
        agents,
        gaps: (s.gaps ?? []).map((g) => ({ startNs: BigInt(g.start_ns), endNs: BigInt(g.end_ns) })),
      };
    } catch (error) {
      if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return undefined;
      throw error;
    }
  }

  async saveCursor(cursor: PollerCursor): Promise<void> {
    await this.es.index({
      index: this.index,
      id: CURSOR_ID,
      document: cursorDoc(cursor),
      refresh: false,
    });
  }

  /** Records a published window and the cursor after it, in one bulk request. */
  async saveWindow(record: WindowRecord, cursor: PollerCursor): Promise<void> {
    const response = await this.es.bulk({
      refresh: true,
      operations: [
        { index: { _index: this.index, _id: record.windowId } },
        toDoc(record),
        { index: { _index: this.index, _id: CURSOR_ID } },
        cursorDoc(cursor),
      ],
    });
    if (response.errors) {
      const failed = response.items.find((item) => item.index?.error)?.index?.error;
      throw new Error(`saving window ${record.windowId} failed: ${failed?.reason ?? "unknown"}`);
    }
  }

  /**
   * Windows overlapping [fromNs, toNs), ordered by start time descending, one page at a
   * time; the page token is the start time of the last window of the previous page.
   */
  async windows(options: {
    fromNs?: bigint | undefined;
    toNs?: bigint | undefined;
    size: number;
    beforeStartNs?: bigint | undefined;
    ascending?: boolean;
  }): Promise<WindowRecord[]> {
    const filter: object[] = [{ term: { kind: "window" } }];
    if (options.fromNs !== undefined) {
      filter.push({ range: { end_ns: { gt: options.fromNs.toString() } } });
    }
    if (options.toNs !== undefined) {
      filter.push({ range: { start_ns: { lt: options.toNs.toString() } } });
    }
    if (options.beforeStartNs !== undefined) {
      filter.push({ range: { start_ns: { lt: options.beforeStartNs.toString() } } });
    }
    const response = await this.es.search<WindowDoc>({
      index: this.index,
      size: options.size,
      query: { bool: { filter } },
      sort: [{ start_ns: options.ascending ? "asc" : "desc" }],
      track_total_hits: false,
    });
    return response.hits.hits.map((hit) => fromDoc(hit._source as WindowDoc));
  }
}

function cursorDoc(cursor: PollerCursor): CursorDoc {
  const agents: CursorDoc["agents"] = {};
  for (const [name, c] of Object.entries(cursor.agents)) {
    agents[name] = { raw_time_ns: c.rawTimeNs, doc_id: c.docId };
  }
  return {
    kind: "cursor",
    next_start_ns: cursor.nextStartNs === undefined ? null : cursor.nextStartNs.toString(),
    pending: cursor.pending ? toDoc(cursor.pending) : null,
    agents,
    gaps: cursor.gaps.map((g) => ({ start_ns: g.startNs.toString(), end_ns: g.endNs.toString() })),
    updated_at: new Date().toISOString(),
  };
}

function toDoc(r: WindowRecord): WindowDoc {
  return {
    kind: "window",
    window_id: r.windowId,
    start_ns: r.startNs.toString(),
    end_ns: r.endNs.toString(),
    margin_ns: r.marginNs.toString(),
    revision: r.revision,
    msg_id: r.msgId,
    pieces: r.pieces.map(boundsDoc),
    retired: r.retired.map(boundsDoc),
    span_count: r.spanCount,
    member_count: r.memberCount,
    payload_bytes: r.payloadBytes,
    published_at_ns: r.publishedAtNs.toString(),
    documents: r.documents,
  };
}

function fromDoc(d: WindowDoc): WindowRecord {
  return {
    windowId: d.window_id,
    startNs: BigInt(d.start_ns),
    endNs: BigInt(d.end_ns),
    marginNs: BigInt(d.margin_ns),
    revision: d.revision,
    msgId: d.msg_id,
    pieces: (d.pieces ?? []).map(fromBoundsDoc),
    retired: (d.retired ?? []).map(fromBoundsDoc),
    spanCount: d.span_count,
    memberCount: d.member_count,
    payloadBytes: d.payload_bytes,
    publishedAtNs: BigInt(d.published_at_ns),
    documents: d.documents,
  };
}

function boundsDoc(b: WindowBounds): BoundsDoc {
  return {
    start_ns: b.startNs.toString(),
    end_ns: b.endNs.toString(),
    margin_ns: b.marginNs.toString(),
  };
}

function fromBoundsDoc(d: BoundsDoc): WindowBounds {
  return { startNs: BigInt(d.start_ns), endNs: BigInt(d.end_ns), marginNs: BigInt(d.margin_ns) };
}
