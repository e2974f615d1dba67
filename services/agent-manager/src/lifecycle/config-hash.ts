import { createHash } from "node:crypto";

/** JSON with object keys sorted at every level, so equal configs serialise identically. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Hash of an agent config: sha256 of its canonical JSON, first 16 hex digits. The agent
 * emulator computes the same over the config it runs, which is how the applied hash is known.
 */
export function configHash(config: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex").slice(0, 16);
}
