import { hash } from "node:crypto";

/**
 * Deterministic span id: the same stored document always gets the same id, so every
 * write keyed by it overwrites instead of duplicating.
 */
export function spanIdFor(agent: string, index: string, docId: string): string {
  // One-shot hash: the same digest as createHash().update().digest(), without a Hash object per span.
  return hash("sha256", `${agent}\0${index}\0${docId}`, "hex").slice(0, 32);
}

/** Deterministic trace id: a hash of the root span id. */
export function traceIdFor(rootSpanId: string): string {
  return hash("sha256", `trace\0${rootSpanId}`, "hex").slice(0, 32);
}
