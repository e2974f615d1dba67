/**
 * The outcome of ingesting a batch of documents: the spans, and for everything that was
 * not turned into a span, a reason. Reasons are counted by kind; the first few rejected
 * documents are kept with their position so a user can find them.
 */
import type { Span } from "../gen/deeptrace/span/v1/span_pb.js";
import type { SpanFormat } from "./format-detect.js";
import type { SpanTable } from "./span-table.js";

export interface Rejection {
  /** Position of the document in its input (0-based; line number - 1 for NDJSON). */
  position: number;
  reason: string;
}

/** What was read and rejected. */
export interface IngestSummary {
  /** Documents seen, accepted or not. */
  read: number;
  rejected: number;
  /** Rejection count per reason, keys sorted. */
  reasons: Record<string, number>;
  /** The first rejections, in input order. */
  examples: Rejection[];
  /** Accepted documents per detected format. */
  formats: Partial<Record<SpanFormat, number>>;
}

export interface IngestResult extends IngestSummary {
  spans: Span[];
}

export interface TableIngestResult extends IngestSummary {
  table: SpanTable;
}

/** How many rejected documents are kept as examples. */
export const MAX_EXAMPLES = 20;
