/**
 * Protocol status of a span, read from its response payload, and whether it is an error.
 *
 * HTTP follows the OpenTelemetry convention: 5xx is an error on both sides, 4xx only on
 * the client (Egress) side, because a server answering 404 did its job.
 */
import { protocolFamily } from "./protocol.js";

export interface SpanStatus {
  /** Empty when unknown. */
  status: string;
  error: boolean;
}

const UNKNOWN: SpanStatus = { status: "", error: false };

export function statusOf(protocol: string, respPayload: string, egress: boolean): SpanStatus {
  switch (protocolFamily(protocol)) {
    case "http1": {
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(respPayload);
      if (!m) return UNKNOWN;
      const code = Number(m[1]);
      return { status: m[1] as string, error: code >= 500 || (egress && code >= 400) };
    }
    case "grpc":
    case "http2": {
      // grpc-status travels as a trailer literal when not indexed.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: binary protocol bytes (NULs, length bytes) are what this matches
      const m = /grpc-status[\x00-\x20:]{1,3}(\d{1,2})/i.exec(respPayload);
      if (m) return { status: `grpc ${m[1]}`, error: m[1] !== "0" };
      return UNKNOWN;
    }
    case "redis":
      if (respPayload.startsWith("-")) return { status: "error", error: true };
      return respPayload.length > 0 ? { status: "ok", error: false } : UNKNOWN;
    case "mysql": {
      if (respPayload.length < 5) return UNKNOWN;
      const marker = respPayload.charCodeAt(4);
      // 0xff (ERR) is not valid UTF-8 on its own and decodes to U+FFFD.
      if (marker === 0xfffd && /#[0-9A-Z]{5}/.test(respPayload.slice(5, 16))) {
        return { status: "error", error: true };
      }
      return marker === 0x00 ? { status: "ok", error: false } : UNKNOWN;
    }
    case "dns": {
      const rcode = dnsRcode(respPayload);
      if (rcode === undefined) return UNKNOWN;
      const names = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
      return { status: names[rcode] ?? `RCODE${rcode}`, error: rcode === 2 || rcode === 5 };
    }
    default:
      return UNKNOWN;
  }
}

/**
 * DNS RCODE is the low nibble of the fourth header byte. The first flags byte of a
 * response has the QR bit set (non-ASCII), so it decodes to U+FFFD; when the ID bytes
 * decoded cleanly the fourth character is the second flags byte.
 */
function dnsRcode(p: string): number | undefined {
  if (p.length < 4) return undefined;
  const b = p.charCodeAt(3);
  if (b === 0xfffd || b > 0xff) return undefined;
  return b & 0x0f;
}
