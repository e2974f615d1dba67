import { describe, expect, it } from "vitest";
import {
  decodePageToken,
  encodePageToken,
  filterFingerprint,
  InvalidPageTokenError,
} from "../../src/query/page-token.js";

describe("page tokens", () => {
  const filters = { start: 1n, end: 0n, service: "api", endpoint: "", min: 0n, status: "" };
  const fingerprint = filterFingerprint(filters);

  it("round-trips a nanosecond cursor exactly", () => {
    const cursor = { startTimeNs: 1_700_000_000_123_456_789n, traceId: "abc" };
    const token = encodePageToken(cursor, fingerprint);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, fingerprint)).toEqual(cursor);
  });

  it("rejects a token used with other filters", () => {
    const token = encodePageToken({ startTimeNs: 5n, traceId: "t" }, fingerprint);
    const other = filterFingerprint({ ...filters, service: "db" });
    expect(() => decodePageToken(token, other)).toThrow(/other filters/);
  });

  it("rejects garbage and tampered tokens", () => {
    expect(() => decodePageToken("not a token", fingerprint)).toThrow(InvalidPageTokenError);
    const tampered = Buffer.from(
      JSON.stringify({ v: 1, s: "1e9", t: "x", f: fingerprint }),
    ).toString("base64url");
    expect(() => decodePageToken(tampered, fingerprint)).toThrow(InvalidPageTokenError);
  });

  it("fingerprints do not depend on key order", () => {
    expect(filterFingerprint({ a: "1", b: 2n })).toBe(filterFingerprint({ b: 2n, a: "1" }));
  });
});
