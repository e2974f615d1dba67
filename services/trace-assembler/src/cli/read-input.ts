/**
 * Reading span documents from a file: a JSON array, an object `{"spans": [...]}` (the
 * raw dump), or NDJSON (one document per line, read as a stream so large files never sit
 * in memory as one string; file-lines.ts). A line that is not valid JSON is a rejected
 * document, not a failed run.
 */
import { open, readFile } from "node:fs/promises";
import type { DocumentSink } from "@deeptrace/shared/spans/ingest";
import { forEachLine } from "./file-lines.js";

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** Feed every document of `path` to the ingestor. */
export async function readDocuments(path: string, ingestor: DocumentSink): Promise<void> {
  const head = await firstLine(path);
  const trimmed = head.trim();
  if (trimmed === "") return readNdjson(path, ingestor);
  // NDJSON when the first line is a complete JSON value of its own; otherwise one document.
  if (trimmed.startsWith("{") && parses(trimmed)) return readNdjson(path, ingestor);
  if (!trimmed.startsWith("[") && !trimmed.startsWith("{")) return readNdjson(path, ingestor);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch {
    throw new InputError(`${path} is not valid JSON (nor NDJSON)`);
  }
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  let position = 0;
  for (const doc of docs) feed(doc, ingestor, () => position++);
}

/** A `{"spans": [...]}` wrapper contributes its spans; anything else is one document. */
function feed(doc: unknown, ingestor: DocumentSink, next: () => number): void {
  if (
    typeof doc === "object" &&
    doc !== null &&
    Array.isArray((doc as { spans?: unknown }).spans)
  ) {
    for (const d of (doc as { spans: unknown[] }).spans) ingestor.add(d, next());
    return;
  }
  ingestor.add(doc, next());
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function readNdjson(path: string, ingestor: DocumentSink): Promise<void> {
  let position = 0;
  await forEachLine(path, (line) => {
    if (line.trim() === "") {
      position++;
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      ingestor.rejectUnparsed(position++, "line is not valid JSON");
      return;
    }
    feed(doc, ingestor, () => position++);
  });
}

/** The file's first line (at most 1 MiB of it). */
async function firstLine(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString("utf8");
    const nl = text.indexOf("\n");
    return nl >= 0 ? text.slice(0, nl) : text;
  } finally {
    await handle.close();
  }
}
