import { createHash } from "node:crypto";

/**
 * Deterministic span id: the same stored document always gets the same id, so every
 * write keyed by it overwrites instead of duplicating.
 */
export function spanIdFor(agent: string, index: string, docId: string): string {
  return createHash("sha256").update(`${agent}\0${index}\0${docId}`).digest("hex").slice(0, 32);
}

/** Deterministic trace id: a hash of the root span id. */
export function traceIdFor(rootSpanId: string): string {
  return createHash("sha256").update(`trace\0${rootSpanId}`).digest("hex").slice(0, 32);
}
