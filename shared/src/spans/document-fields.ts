/**
 * Typed reads from untrusted JSON documents. A bad field throws MalformedDocument with a
 * stable reason (no values in it, so reasons can be counted); the ingestion loop turns
 * that into a rejection instead of a crash.
 */

export class MalformedDocument extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "MalformedDocument";
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function objectAt(doc: JsonObject, key: string, path: string): JsonObject {
  const v = doc[key];
  if (!isObject(v)) throw new MalformedDocument(`${path} is missing or not an object`);
  return v;
}

export function optionalObjectAt(
  doc: JsonObject,
  key: string,
  path: string,
): JsonObject | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new MalformedDocument(`${path} is not an object`);
  return v;
}

/** A non-negative integer nanosecond time or count: a JSON number or a decimal string. */
export function bigintAt(doc: JsonObject, key: string, path: string): bigint {
  const v = doc[key];
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  // Beyond 2^53 JSON numbers have already lost precision in JSON.parse; keep the nearest.
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^\d{1,20}$/.test(v)) return BigInt(v);
  throw new MalformedDocument(`${path} is missing or not a non-negative integer`);
}

export function optionalBigintAt(doc: JsonObject, key: string, path: string): bigint | undefined {
  return doc[key] === undefined || doc[key] === null ? undefined : bigintAt(doc, key, path);
}

export function uintAt(doc: JsonObject, key: string, path: string, max = 0xffffffff): number {
  const v = doc[key];
  const n = typeof v === "string" && /^\d{1,10}$/.test(v) ? Number(v) : v;
  if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= max) return n;
  throw new MalformedDocument(`${path} is missing or not an integer in range`);
}

export function optionalUintAt(doc: JsonObject, key: string, path: string): number | undefined {
  return doc[key] === undefined || doc[key] === null ? undefined : uintAt(doc, key, path);
}

export function stringAt(doc: JsonObject, key: string, path: string): string {
  const v = doc[key];
  if (typeof v !== "string") throw new MalformedDocument(`${path} is missing or not a string`);
  return v;
}

/** Optional text: absent or null is "", anything but a string is malformed. */
export function textAt(doc: JsonObject, key: string, path: string): string {
  const v = doc[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new MalformedDocument(`${path} is not a string`);
  return v;
}

/** Flatten an object of extra tags into string labels ("a.b" keys, JSON for arrays). */
export function flattenLabels(value: JsonObject, prefix = "", out: Record<string, string> = {}) {
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (v === null || v === undefined) continue;
    if (isObject(v)) flattenLabels(v, name, out);
    else if (typeof v === "string") out[name] = v;
    else out[name] = JSON.stringify(v);
  }
  return out;
}
