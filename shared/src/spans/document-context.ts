/** Where a document came from, and the clock offset of the host that captured it. */
export interface DocumentContext {
  /** Agent name; for an index `spans_<agent>` it is `<agent>`. */
  agent: string;
  /** Index (or file) the document was read from. */
  index: string;
  /** Document id (Elasticsearch `_id`); derived from the span's identity when absent. */
  docId?: string;
  /** Wall clock minus monotonic clock on the capturing host; 0 when unknown. */
  clockOffsetNs?: bigint;
}

/** The agent name for an index: `spans_<agent>` gives `<agent>`, anything else itself. */
export function agentForIndex(index: string): string {
  return index.startsWith("spans_") ? index.slice("spans_".length) : index;
}
