import type { Client } from "@elastic/elasticsearch";
import { nowNs } from "./clock.js";

/** The field holding the span's start on the agent's monotonic clock (ns). */
export const START_FIELD = "metric.start_time";

/** One document of an agent index. */
export interface IndexHit {
  docId: string;
  /** Start time on the agent's clock, from the sort value. */
  rawStartNs: bigint;
  source: unknown;
}

export interface ReadRequest {
  index: string;
  /** Only documents starting at or after this raw time (inclusive). */
  fromRawNs?: bigint | undefined;
  /** Only documents starting before this raw time. */
  toRawNs?: bigint | undefined;
  /** Stop after this many pages; the rest is read next time. */
  maxPages: number;
}

export interface ReadOutcome {
  /** The read reached the end of what the point in time showed. */
  caughtUp: boolean;
  /** Wall time just before the point in time was opened. */
  openedAtNs: bigint;
  /** The index does not exist (yet): nothing to read. */
  missing: boolean;
}

/**
 * Reads agent indices in a total order: start time, then `_shard_doc` inside one point in
 * time (PIT). `_id` cannot be sorted on in Elasticsearch 8 without fielddata, and
 * `_shard_doc` is only stable within one PIT, so each read opens a PIT, pages through it
 * with search_after, and closes it; continuing across reads is done by ReadCursor (start
 * time inclusive, ids already read at that instant skipped). Long bounds are sent as
 * strings so Elasticsearch parses them exactly.
 */
export class IndexReader {
  constructor(
    private readonly es: Client,
    private readonly pageSize: number,
  ) {}

  async read(request: ReadRequest, onPage: (hits: IndexHit[]) => void): Promise<ReadOutcome> {
    const openedAtNs = nowNs();
    let pitId: string;
    try {
      pitId = (await this.es.openPointInTime({ index: request.index, keep_alive: "1m" })).id;
    } catch (error) {
      if (isIndexMissing(error)) return { caughtUp: true, openedAtNs, missing: true };
      throw error;
    }
    try {
      let searchAfter: (string | number)[] | undefined;
      for (let page = 0; page < request.maxPages; page++) {
        const response = await this.es.search({
          pit: { id: pitId, keep_alive: "1m" },
          size: this.pageSize,
          query: { range: { [START_FIELD]: rangeBounds(request.fromRawNs, request.toRawNs) } },
          sort: [{ [START_FIELD]: "asc" }, { _shard_doc: "asc" }],
          track_total_hits: false,
          ...(searchAfter ? { search_after: searchAfter } : {}),
        });
        pitId = response.pit_id ?? pitId;
        const hits = response.hits.hits;
        onPage(
          hits.map((hit) => ({
            docId: hit._id as string,
            rawStartNs: BigInt(hit.sort?.[0] as number),
            source: hit._source,
          })),
        );
        if (hits.length < this.pageSize) return { caughtUp: true, openedAtNs, missing: false };
        searchAfter = hits[hits.length - 1]?.sort as (string | number)[];
      }
      return { caughtUp: false, openedAtNs, missing: false };
    } finally {
      await this.es.closePointInTime({ id: pitId }).catch(() => undefined);
    }
  }

  /** Reads every document starting in [fromRawNs, toRawNs) of one index. */
  async readAll(index: string, fromRawNs: bigint, toRawNs: bigint): Promise<IndexHit[]> {
    const all: IndexHit[] = [];
    await this.read({ index, fromRawNs, toRawNs, maxPages: Number.MAX_SAFE_INTEGER }, (hits) => {
      for (const hit of hits) all.push(hit);
    });
    return all;
  }

  /**
   * Document counts per named raw range [from, to) of an index, for any number of indices
   * in one request (a filters aggregation on index and range). Missing indices count 0.
   */
  async countRanges(
    ranges: { key: string; index: string; fromRawNs: bigint; toRawNs: bigint }[],
  ): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (ranges.length === 0) return counts;
    const filters: Record<string, object> = {};
    for (const r of ranges) {
      filters[r.key] = {
        bool: {
          filter: [
            { term: { _index: r.index } },
            { range: { [START_FIELD]: rangeBounds(r.fromRawNs, r.toRawNs) } },
          ],
        },
      };
    }
    const response = await this.es.search({
      index: [...new Set(ranges.map((r) => r.index))],
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      track_total_hits: false,
      aggs: { ranges: { filters: { filters } } },
    });
    const buckets = response.aggregations?.ranges as
      | { buckets: Record<string, { doc_count: number }> }
      | undefined;
    for (const r of ranges) counts.set(r.key, buckets?.buckets[r.key]?.doc_count ?? 0);
    return counts;
  }
}

function rangeBounds(from: bigint | undefined, to: bigint | undefined) {
  return {
    ...(from !== undefined ? { gte: from.toString() } : {}),
    ...(to !== undefined ? { lt: to.toString() } : {}),
  };
}

function isIndexMissing(error: unknown): boolean {
  const e = error as { meta?: { statusCode?: number; body?: { error?: { type?: string } } } };
  return e.meta?.statusCode === 404 && e.meta.body?.error?.type === "index_not_found_exception";
}

/**
 * Where reading an agent index continues. The next read starts at the start time of the
 * last document read (inclusive) and skips the documents already read at exactly that
 * instant, so documents sharing a timestamp are neither skipped nor read twice, however
 * many there are and however reads are cut into pages and points in time.
 */
export class ReadCursor {
  private readAtTime = new Set<string>();

  constructor(private time: bigint | undefined) {}

  /** Raw start time the next read starts at (inclusive). */
  get rawTimeNs(): bigint | undefined {
    return this.time;
  }

  /** Ids read at exactly rawTimeNs (the last one is the cursor's document). */
  get lastDocId(): string | undefined {
    let last: string | undefined;
    for (const id of this.readAtTime) last = id;
    return last;
  }

  /** Advances over a hit read in order; false when it was read before. */
  accept(hit: IndexHit): boolean {
    if (this.time !== undefined && hit.rawStartNs < this.time) return false;
    if (this.time === hit.rawStartNs) {
      if (this.readAtTime.has(hit.docId)) return false;
    } else {
      this.time = hit.rawStartNs;
      this.readAtTime = new Set();
    }
    this.readAtTime.add(hit.docId);
    return true;
  }
}
