import {
  type BulkDocument,
  type BulkWriter,
  serializeDocument,
} from "@deeptrace/shared/elastic/bulk-writer";
import type { TraceIndices } from "@deeptrace/shared/elastic/index-templates";
import { type Client, errors } from "@elastic/elasticsearch";
import type { WindowSummary } from "./window-processor.js";

/**
 * Revisions of one window (a re-publish after late spans) may be delivered in any order and
 * at the same time. Every document of a window is written with its revision as external
 * version (`external_gte`), so an older revision never overwrites a document of a newer one,
 * and after them the window marker, also versioned. A delivery whose revision is lower than
 * the marker's is skipped. After a revision r > 0 is stored, documents of lower revisions of
 * that window that r no longer contains are deleted.
 *
 * An older revision that raced with a newer one may still have added documents the newer
 * one does not contain: its marker write is then refused, and it deletes everything below the
 * stored revision itself. Since the newer revision writes its marker before it deletes, one
 * of the two deletes always sees those documents.
 */
export class WindowRevisions {
  constructor(
    private readonly client: Client,
    private readonly writer: BulkWriter,
    private readonly indices: TraceIndices,
  ) {}

  /** The revision whose documents are stored for this window, if any. */
  async stored(windowId: string, signal?: AbortSignal): Promise<number | undefined> {
    return this.writer.retrying(
      "reading the window marker",
      async (s) => {
        try {
          const doc = await this.client.get<{ window_revision: number }>(
            { index: this.indices.windows, id: windowId, _source_includes: ["window_revision"] },
            { signal: s },
          );
          return doc._source?.window_revision;
        } catch (error) {
          if (error instanceof errors.ResponseError && error.statusCode === 404) return undefined;
          throw error;
        }
      },
      signal,
    );
  }

  /**
   * Records that every document of this revision is stored, then removes what lower revisions
   * wrote and the stored revision does not contain. Returns the stored revision (higher than
   * this one when a newer revision was stored meanwhile).
   */
  async written(
    summary: WindowSummary,
    window: { startNs: bigint; endNs: bigint },
    signal?: AbortSignal,
  ): Promise<number> {
    const marker = await this.writer.write([this.marker(summary, window)], signal);
    let stored = summary.revision;
    if (marker.superseded > 0) {
      stored = (await this.stored(summary.windowId, signal)) ?? summary.revision;
    }
    if (stored > 0) await this.deleteBelow(summary.windowId, stored, signal);
    return stored;
  }

  private marker(summary: WindowSummary, window: { startNs: bigint; endNs: bigint }): BulkDocument {
    return {
      index: this.indices.windows,
      id: summary.windowId,
      version: summary.revision,
      source: serializeDocument({
        window_id: summary.windowId,
        window_revision: summary.revision,
        window_start_ns: window.startNs,
        window_end_ns: window.endNs,
        span_count: summary.spans,
        trace_count: summary.traces,
        written_at: new Date().toISOString(),
      }),
    };
  }

  /**
   * Deletes this window's trace, span and graph documents of revisions below `revision`:
   * search, then a bulk delete of exactly the versions found (`if_seq_no`), so a document
   * rewritten meanwhile is left alone; until a search finds none. (Search and bulk instead of
   * delete-by-query, which lives in the reindex module that not every distribution has.)
   */
  private async deleteBelow(windowId: string, revision: number, signal?: AbortSignal) {
    const index = [this.indices.traces, this.indices.spans, this.indices.serviceGraph];
    for (;;) {
      const hits = await this.writer.retrying(
        "searching documents of older window revisions",
        async (s) => {
          // A search only sees refreshed documents.
          await this.client.indices.refresh({ index }, { signal: s });
          const response = await this.client.search(
            {
              index,
              size: 1_000,
              _source: false,
              seq_no_primary_term: true,
              query: {
                bool: {
                  filter: [
                    { term: { window_id: windowId } },
                    { range: { window_revision: { lt: revision } } },
                  ],
                },
              },
            },
            { signal: s },
          );
          return response.hits.hits;
        },
        signal,
      );
      if (hits.length === 0) return;
      const response = await this.writer.retrying(
        "deleting documents of older window revisions",
        (s) =>
          this.client.bulk(
            {
              operations: hits.map((hit) => ({
                delete: {
                  _index: hit._index,
                  _id: hit._id as string,
                  if_seq_no: hit._seq_no as number,
                  if_primary_term: hit._primary_term as number,
                },
              })),
            },
            { signal: s },
          ),
        signal,
      );
      for (const entry of response.items) {
        const item = entry.delete;
        // 404: already gone; 409: rewritten since the search (looked at again next round).
        if (item && item.status !== 200 && item.status !== 404 && item.status !== 409) {
          throw new Error(
            `deleting ${item._index}/${item._id} of an older revision of window ${windowId} failed with ${item.status}: ${item.error?.type}: ${item.error?.reason}`,
          );
        }
      }
    }
  }
}
