import { createHash } from "node:crypto";

/** Where the next page starts: after this (start time, trace id) in newest-first order. */
export interface PageCursor {
  startTimeNs: bigint;
  traceId: string;
}

const VERSION = 1;

/** A fingerprint of the filters a token belongs to, so it cannot be replayed with others. */
export function filterFingerprint(filters: Record<string, string | bigint | number>): string {
  const canonical = Object.keys(filters)
    .sort()
    .map((k) => `${k}=${String(filters[k])}`)
    .join("&");
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

/** An opaque token: base64url of a small versioned JSON record. */
export function encodePageToken(cursor: PageCursor, fingerprint: string): string {
  const body = JSON.stringify({
    v: VERSION,
    s: cursor.startTimeNs.toString(),
    t: cursor.traceId,
    f: fingerprint,
  });
  return Buffer.from(body, "utf8").toString("base64url");
}

export class InvalidPageTokenError extends Error {
  override name = "InvalidPageTokenError";
}

/** Reads a token produced by `encodePageToken` for the same filters, or throws. */
export function decodePageToken(token: string, fingerprint: string): PageCursor {
  let record: unknown;
  try {
    record = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new InvalidPageTokenError("page_token is not a token from SearchTraces");
  }
  const r = record as { v?: unknown; s?: unknown; t?: unknown; f?: unknown };
  if (
    r === null ||
    typeof r !== "object" ||
    r.v !== VERSION ||
    typeof r.s !== "string" ||
    !/^-?\d{1,20}$/.test(r.s) ||
    typeof r.t !== "string" ||
    typeof r.f !== "string"
  ) {
    throw new InvalidPageTokenError("page_token is not a token from SearchTraces");
  }
  if (r.f !== fingerprint) {
    throw new InvalidPageTokenError("page_token belongs to a search with other filters");
  }
  return { startTimeNs: BigInt(r.s), traceId: r.t };
}
