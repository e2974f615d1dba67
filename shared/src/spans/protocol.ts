/**
 * Application protocol families. Agents spell protocols in several ways ("HTTP1",
 * "Http2", "gRPC", "MongoDB", "Mongo", ...); the parsers only need the family.
 */
export type ProtocolFamily =
  | "http1"
  | "http2"
  | "grpc"
  | "thrift"
  | "redis"
  | "mongodb"
  | "mysql"
  | "dns"
  | "other";

/** Families of the spellings seen so far: every span asks twice, with a handful of spellings. */
const known = new Map<string, ProtocolFamily>();
const MAX_KNOWN = 256;

export function protocolFamily(protocol: string): ProtocolFamily {
  let family = known.get(protocol);
  if (family === undefined) {
    family = familyOf(protocol);
    if (known.size < MAX_KNOWN) known.set(protocol, family);
  }
  return family;
}

function familyOf(protocol: string): ProtocolFamily {
  const p = protocol.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (p === "http1" || p === "http" || p === "http11" || p === "http10") return "http1";
  if (p === "http2" || p === "h2") return "http2";
  if (p === "grpc") return "grpc";
  if (p.startsWith("thrift")) return "thrift";
  if (p.startsWith("redis")) return "redis";
  if (p.startsWith("mongo")) return "mongodb";
  if (p.startsWith("mysql")) return "mysql";
  if (p === "dns") return "dns";
  return "other";
}
