/**
 * Propagated identifiers found in a request payload: X-Request-Id, W3C traceparent,
 * B3 (single `b3` header and multi `X-B3-TraceId`) and Jaeger `uber-trace-id`.
 *
 * Header names match case-insensitively. The scan is not tied to HTTP/1 header syntax:
 * the same names appear in HTTP/2 literals, gRPC metadata and Thrift THeaders, separated
 * from the value by a colon, spaces, NULs or a length byte, so the value is read right
 * after a short run of separator characters and validated against the header's format.
 *
 * These ids are ground truth for scoring. The engine links through them only when a user
 * turns that on.
 */
import type { ObservedId } from "../gen/deeptrace/span/v1/span_pb.js";

export type ObservedIdKind = "x-request-id" | "traceparent" | "b3" | "uber-trace-id";

/** Headers sit at the start of a request; ids further in are body data, not propagation. */
const SCAN_LIMIT = 8192;

const NAMES = /(?<![\w-])(x-request-id|traceparent|x-b3-traceid|b3|uber-trace-id)(?![A-Za-z_-])/gi;

const VALUE: Record<string, RegExp> = {
  // A UUID, or any opaque token.
  "x-request-id":
    /([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[\w.+/=-]{1,128})/y,
  // version-traceid-parentid-flags
  traceparent: /[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/iy,
  // traceid-spanid[-sampled[-parentspanid]]
  b3: /([0-9a-f]{16}|[0-9a-f]{32})-[0-9a-f]{16}/iy,
  "x-b3-traceid": /([0-9a-f]{32}|[0-9a-f]{16})(?![0-9a-f])/iy,
  // traceid:spanid:parentid:flags, possibly URL-encoded
  "uber-trace-id":
    /([0-9a-f]{1,32})(?::|%3a)[0-9a-f]{1,16}(?::|%3a)[0-9a-f]{1,16}(?::|%3a)[0-9a-f]{1,2}/iy,
};

const KIND: Record<string, ObservedIdKind> = {
  "x-request-id": "x-request-id",
  traceparent: "traceparent",
  b3: "b3",
  "x-b3-traceid": "b3",
  "uber-trace-id": "uber-trace-id",
};

/** Observed ids in a request payload, in order of appearance, without duplicates. */
export function observedIdsIn(reqPayload: string): ObservedId[] {
  const payload = reqPayload.length > SCAN_LIMIT ? reqPayload.slice(0, SCAN_LIMIT) : reqPayload;
  const out: ObservedId[] = [];
  NAMES.lastIndex = 0;
  for (let m = NAMES.exec(payload); m; m = NAMES.exec(payload)) {
    const name = (m[1] as string).toLowerCase();
    const value = readValue(payload, m.index + m[0].length, name);
    if (value === undefined) continue;
    const kind = KIND[name] as ObservedIdKind;
    if (!out.some((o) => o.kind === kind && o.value === value)) {
      out.push({ $typeName: "deeptrace.span.v1.ObservedId", kind, value });
    }
  }
  return out;
}

/** Separator characters between a header name and its value: ": ", NULs, quotes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: binary protocol bytes (NULs, length bytes) are what this matches
const SEPARATOR_CHAR = /[\s:=\x00-\x1f"']/;

function readValue(payload: string, at: number, name: string): string | undefined {
  const valueRe = VALUE[name] as RegExp;
  // Separators are ": ", NULs or quotes, and the last character before the value may be
  // a binary length byte of any value (HPACK, THeader). Shortest separator first.
  for (let skip = 1; skip <= 6; skip++) {
    const sepEnd = at + skip;
    if (sepEnd > payload.length) return undefined;
    if (skip > 1 && !SEPARATOR_CHAR.test(payload.charAt(sepEnd - 2))) return undefined;
    valueRe.lastIndex = sepEnd;
    const v = valueRe.exec(payload);
    if (v) return normalise(name, v[1] as string);
  }
  return undefined;
}

function normalise(name: string, value: string): string {
  if (name === "x-request-id") return value;
  // Hex trace ids are case-insensitive; Jaeger drops leading zeros, so compare without them.
  const lower = value.toLowerCase();
  return name === "uber-trace-id" ? lower.replace(/^0+(?=.)/, "") : lower;
}

/** The preferred observed id to treat as the trace-level ground truth of a span. */
const PREFERENCE: readonly ObservedIdKind[] = [
  "x-request-id",
  "traceparent",
  "b3",
  "uber-trace-id",
];

export function groundTruthId(ids: readonly ObservedId[]): string | undefined {
  for (const kind of PREFERENCE) {
    const id = ids.find((o) => o.kind === kind);
    if (id) return `${kind}:${id.value}`;
  }
  return undefined;
}
