import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createWorkload } from "./generator.js";
import type { WorkloadManifest } from "./manifest.js";
import type { WorkloadOptions } from "./options.js";

/** Appends text to a file descriptor through a buffer of about 1 MiB. */
class BufferedFile {
  private chunks: string[] = [];
  private length = 0;
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, "w");
  }

  write(text: string): void {
    this.chunks.push(text);
    this.length += text.length;
    if (this.length >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.chunks.length === 0) return;
    writeSync(this.fd, this.chunks.join(""));
    this.chunks = [];
    this.length = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export const WORKLOAD_FILES = {
  spans: "spans.ndjson",
  groundTruth: "ground-truth.ndjson",
  manifest: "manifest.json",
} as const;

/**
 * Generates a workload into `outDir`:
 * - spans.ndjson: `{"index":"spans_<agent>","id":"<doc id>","doc":{...agent document...}}` per line
 * - ground-truth.ndjson: `{"index","docId","traceId","parent"}` per line, same order
 * - manifest.json: agents, clock offsets, topology, parameters and stats
 * Spans are streamed to disk; memory holds only the requests in flight.
 */
export function writeWorkload(options: Partial<WorkloadOptions>, outDir: string): WorkloadManifest {
  const workload = createWorkload(options);
  mkdirSync(outDir, { recursive: true });
  const spans = new BufferedFile(join(outDir, WORKLOAD_FILES.spans));
  const truth = new BufferedFile(join(outDir, WORKLOAD_FILES.groundTruth));
  try {
    for (const s of workload.spans()) {
      spans.write(`${JSON.stringify(s.line)}\n`);
      truth.write(`${JSON.stringify(s.truth)}\n`);
    }
  } finally {
    spans.close();
    truth.close();
  }
  const manifest = workload.manifest();
  writeFileSync(join(outDir, WORKLOAD_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
