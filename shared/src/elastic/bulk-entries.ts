/**
 * Documents encoded as bulk request bodies: each document's action line and source line,
 * newline-terminated UTF-8, back to back in one buffer. A run of consecutive documents is a
 * bulk body as it stands (a view, no copy), and the buffer can be handed to another thread
 * whole: the trace-assembler's worker encodes a window's documents this way, and its main
 * thread sends them without building a string, an object or a body per document. (Sending
 * per-document views and joining them into bodies on the main thread took it 0.4-0.9 s of
 * CPU per 128k documents; the encoded form takes it 0.03 s.)
 */
import type { BulkDocument } from "./bulk-writer.js";

export interface BulkEntries {
  /** Every document's action line and source line, back to back. */
  bytes: Uint8Array;
  /** Where document i's entry ends in `bytes`; it starts where document i - 1's ends (0 for the first). */
  ends: Uint32Array;
  /** Id and target index of document i. */
  ids: string[];
  indices: string[];
}

const NEWLINE = 0x0a;

/** The bulk action line of a document: index under its id, with its external version if any. */
export function actionLine(document: BulkDocument): string {
  const target = `"_index":${JSON.stringify(document.index)},"_id":${JSON.stringify(document.id)}`;
  return document.version === undefined
    ? `{"index":{${target}}}`
    : `{"index":{${target},"version":${document.version},"version_type":"external_gte"}}`;
}

/** The documents' entries in one buffer of their own (transferable to another thread). */
export function encodeEntries(documents: readonly BulkDocument[]): BulkEntries {
  const actions = documents.map(actionLine);
  let size = 0;
  for (let i = 0; i < documents.length; i++) {
    const { source } = documents[i] as BulkDocument;
    size += Buffer.byteLength(actions[i] as string) + Buffer.byteLength(source) + 2;
  }
  const bytes = Buffer.from(new ArrayBuffer(size));
  const ends = new Uint32Array(documents.length);
  let at = 0;
  for (let i = 0; i < documents.length; i++) {
    at += bytes.write(actions[i] as string, at);
    bytes[at++] = NEWLINE;
    at += bytes.write((documents[i] as BulkDocument).source, at);
    bytes[at++] = NEWLINE;
    ends[i] = at;
  }
  return {
    bytes: new Uint8Array(bytes.buffer),
    ends,
    ids: documents.map((d) => d.id),
    indices: documents.map((d) => d.index),
  };
}

export function isBulkEntries(value: readonly BulkDocument[] | BulkEntries): value is BulkEntries {
  return !Array.isArray(value);
}

const startOf = (entries: BulkEntries, i: number): number =>
  i === 0 ? 0 : (entries.ends[i - 1] as number);

/**
 * The bulk body of the documents at `positions` (ascending): a view into the buffer when
 * they are consecutive (a batch as cut), a copy of their entries otherwise (a retry of some).
 */
export function entriesBody(entries: BulkEntries, positions: readonly number[]): Buffer {
  const view = (from: number, to: number) =>
    Buffer.from(entries.bytes.buffer, entries.bytes.byteOffset + from, to - from);
  if (positions.length === 0) return Buffer.alloc(0);
  const first = positions[0] as number;
  const last = positions[positions.length - 1] as number;
  if (last - first === positions.length - 1) {
    return view(startOf(entries, first), entries.ends[last] as number);
  }
  return Buffer.concat(positions.map((p) => view(startOf(entries, p), entries.ends[p] as number)));
}

/** Positions cut into bulk batches by count and body size; a larger document goes alone. */
export function batchEntries(
  entries: BulkEntries,
  maxDocuments: number,
  maxBytes: number,
): number[][] {
  const batches: number[][] = [];
  let batch: number[] = [];
  let bytes = 0;
  for (let p = 0; p < entries.ids.length; p++) {
    const size = (entries.ends[p] as number) - startOf(entries, p);
    if (batch.length > 0 && (batch.length >= maxDocuments || bytes + size > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(p);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The source of document `position` as text (a dead letter quotes it). */
export function entrySource(entries: BulkEntries, position: number): string {
  const entry = entries.bytes.subarray(startOf(entries, position), entries.ends[position]);
  return Buffer.from(entry.buffer, entry.byteOffset, entry.length).toString(
    "utf8",
    entry.indexOf(NEWLINE) + 1,
    entry.length - 1,
  );
}
