import type { TraceIndices } from "@deeptrace/shared/elastic/index-templates";
import type { Client } from "@elastic/elasticsearch";

/**
 * After a re-published window (revision r > 0) was written, removes what earlier revisions
 * of it wrote and r no longer contains (a trace whose root changed, a graph edge that
 * disappeared). Everything r contains was overwritten under the same ids already.
 */
export async function deleteOlderRevisions(
  client: Client,
  indices: TraceIndices,
  windowId: string,
  revision: number,
): Promise<void> {
  await client.deleteByQuery({
    index: [indices.traces, indices.spans, indices.serviceGraph],
    query: {
      bool: {
        filter: [
          { term: { window_id: windowId } },
          { range: { window_revision: { lt: revision } } },
        ],
      },
    },
    conflicts: "proceed",
    refresh: true,
  });
}
