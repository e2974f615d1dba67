/**
 * Protocol-aware endpoints: what a request asked for, parsed from its captured payload.
 *
 * Payloads are captured bytes decoded as text (invalid UTF-8 bytes become U+FFFD), so the
 * binary parsers here look only at ASCII-range characters and never trust byte offsets
 * that could follow a non-ASCII byte.
 *
 *   HTTP/1   "GET /api/users"            (method and path, no query string)
 *   HTTP/2   "HTTP2 /api/users"          (a plain-text :path literal, when not Huffman coded)
 *   gRPC     "gRPC /pkg.Service/Method"
 *   Thrift   "thrift getUser"            (binary or compact protocol method name)
 *   Redis    "redis GET"
 *   MongoDB  "mongodb find"
 *   MySQL    "mysql SELECT"              (statement kind)
 *   DNS      "DNS A example.org"         (query type and name)
 *   others   the protocol name
 */
import { protocolFamily } from "./protocol.js";

/** How much of a payload the parsers look at. Request lines and headers sit at the start. */
const SCAN_LIMIT = 4096;

export function endpointFor(protocol: string, reqPayload: string): string {
  return parseEndpoint(protocol, reqPayload) ?? (protocol || "unknown");
}

/** The parsed endpoint, or undefined when the payload does not reveal one. */
export function parseEndpoint(protocol: string, reqPayload: string): string | undefined {
  const payload = reqPayload.length > SCAN_LIMIT ? reqPayload.slice(0, SCAN_LIMIT) : reqPayload;
  let endpoint: string | undefined;
  switch (protocolFamily(protocol)) {
    case "http1":
      endpoint = http1Endpoint(payload);
      break;
    case "http2":
      endpoint = http2Endpoint(payload, "HTTP2");
      break;
    case "grpc":
      endpoint = grpcEndpoint(payload) ?? http2Endpoint(payload, "gRPC");
      break;
    case "thrift":
      endpoint = thriftEndpoint(payload);
      break;
    case "redis":
      endpoint = redisEndpoint(payload);
      break;
    case "mongodb":
      endpoint = mongoEndpoint(payload);
      break;
    case "mysql":
      endpoint = mysqlEndpoint(payload);
      break;
    case "dns":
      endpoint = dnsEndpoint(payload);
      break;
    case "other":
      break;
  }
  return endpoint;
}

const HTTP1_REQUEST_LINE = /^([A-Z]{3,10}) (\S+) HTTP\/\d(?:\.\d)?/;

export function http1Endpoint(payload: string): string | undefined {
  const m = HTTP1_REQUEST_LINE.exec(payload);
  if (!m) return undefined;
  const method = m[1] as string;
  let target = m[2] as string;
  // Absolute-form targets (proxies) carry scheme and authority: keep the path only.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (abs) target = target.slice(abs[0].length) || "/";
  const cut = target.search(/[?#]/);
  if (cut >= 0) target = target.slice(0, cut) || "/";
  return `${method} ${target}`;
}

const GRPC_PATH = /\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*/;

export function grpcEndpoint(payload: string): string | undefined {
  const m = GRPC_PATH.exec(payload);
  return m ? `gRPC ${m[0]}` : undefined;
}

/** An HPACK literal :path value that was not Huffman coded: a printable run starting with "/". */
const HTTP2_PATH = /(?:^|[^\x21-\x7e])(\/[\x21-\x7e]*)/;

export function http2Endpoint(payload: string, label: string): string | undefined {
  // Skip the connection preface, whose "PRI * HTTP/2.0" contains no path.
  const start = payload.startsWith("PRI * HTTP/2.0") ? 24 : 0;
  const m = HTTP2_PATH.exec(payload.slice(start));
  if (!m) return undefined;
  let path = m[1] as string;
  const cut = path.search(/[?#]/);
  if (cut >= 0) path = path.slice(0, cut) || "/";
  return `${label} ${path}`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/**
 * Thrift method name. Binary protocol (strict): 0x80 0x01 0x00 type, i32 length, name,
 * optionally behind a 4-byte frame length. Compact protocol: 0x82, type/version, varint
 * seqid, varint length, name. Both leading bytes are non-ASCII and show up as U+FFFD in text.
 */
export function thriftEndpoint(payload: string): string | undefined {
  for (const offset of [0, 4]) {
    const name = thriftBinaryName(payload, offset) ?? thriftCompactName(payload, offset);
    if (name) return `thrift ${name}`;
  }
  // Fallback: the first identifier followed by a NUL, as seen in THeader-wrapped messages.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary protocol bytes (NULs, length bytes) are what this matches
  const m = /([A-Za-z_][A-Za-z0-9_]{2,})\x00/.exec(payload);
  return m ? `thrift ${m[1]}` : undefined;
}

function thriftBinaryName(p: string, o: number): string | undefined {
  // 0x80 0x01 decode to U+FFFD followed by 0x01.
  if (p.charCodeAt(o) !== 0xfffd || p.charCodeAt(o + 1) !== 0x01) return undefined;
  const lenAt = o + 4;
  if (lenAt + 4 > p.length) return undefined;
  const len =
    p.charCodeAt(lenAt) * 0x1000000 +
    p.charCodeAt(lenAt + 1) * 0x10000 +
    p.charCodeAt(lenAt + 2) * 0x100 +
    p.charCodeAt(lenAt + 3);
  if (len <= 0 || len > 256) return undefined;
  const name = p.slice(lenAt + 4, lenAt + 4 + len);
  return name.length === len && IDENT.test(name) ? name : undefined;
}

function thriftCompactName(p: string, o: number): string | undefined {
  if (p.charCodeAt(o) !== 0xfffd) return undefined;
  // type/version byte is ASCII (type in the top 3 bits, version 1): 0x21, 0x41, 0x61, 0x81...
  let i = o + 2;
  // varint seqid: continuation bytes are >= 0x80 (U+FFFD in text)
  while (i < p.length && p.charCodeAt(i) === 0xfffd) i++;
  i++; // last seqid byte
  const len = p.charCodeAt(i);
  if (!(len > 0 && len < 0x80)) return undefined;
  const name = p.slice(i + 1, i + 1 + len);
  return name.length === len && IDENT.test(name) ? name : undefined;
}

/** RESP array `*N\r\n$len\r\nCMD\r\n`, or an inline command. */
export function redisEndpoint(payload: string): string | undefined {
  const m =
    /^\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/.exec(payload) ?? /^([A-Za-z]+)(?:\s|$)/.exec(payload);
  return m ? `redis ${(m[1] as string).toUpperCase()}` : undefined;
}

const MONGO_COMMANDS = new Set([
  "find",
  "insert",
  "update",
  "delete",
  "findAndModify",
  "aggregate",
  "count",
  "distinct",
  "getMore",
  "killCursors",
  "createIndexes",
  "drop",
  "hello",
  "isMaster",
  "ismaster",
  "ping",
  "saslStart",
  "saslContinue",
  "endSessions",
  "listCollections",
  "listIndexes",
  "listDatabases",
  "bulkWrite",
  "commitTransaction",
  "abortTransaction",
]);

/**
 * MongoDB command: the first element name of the OP_MSG body document (a BSON element is
 * a type byte 0x01..0x13, a NUL-terminated name, then the value). Legacy OP_QUERY
 * `db.$cmd` queries put the command in the same position after the collection name.
 */
export function mongoEndpoint(payload: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary protocol bytes (NULs, length bytes) are what this matches
  const element = /[\x01-\x13]([A-Za-z$][A-Za-z0-9_$.]*)\x00/g;
  let first: string | undefined;
  for (let m = element.exec(payload); m; m = element.exec(payload)) {
    const name = m[1] as string;
    if (MONGO_COMMANDS.has(name)) return `mongodb ${name}`;
    if (first === undefined && !name.includes(".")) first = name;
  }
  return first ? `mongodb ${first}` : undefined;
}

const MYSQL_COMMANDS: Record<number, string> = {
  1: "QUIT",
  2: "INIT_DB",
  14: "PING",
  22: "PREPARE",
  23: "EXECUTE",
  25: "CLOSE_STMT",
};

/**
 * MySQL: packet header (3-byte length, sequence id), command byte, body. COM_QUERY (0x03)
 * gives the statement kind from the SQL's first keyword; other commands by name.
 */
export function mysqlEndpoint(payload: string): string | undefined {
  if (payload.length < 5) return undefined;
  const command = payload.charCodeAt(4);
  if (command === 0x03 || command === 0x16) {
    const m = /^\s*(?:\/\*.*?\*\/\s*)*\(?\s*([A-Za-z]+)/s.exec(payload.slice(5));
    if (m) return `mysql ${(m[1] as string).toUpperCase()}`;
  }
  const name = MYSQL_COMMANDS[command];
  if (name) return `mysql ${name}`;
  // Header bytes may have been non-ASCII (long packets): find a SQL keyword directly.
  const m =
    // biome-ignore lint/suspicious/noControlCharactersInRegex: binary protocol bytes (NULs, length bytes) are what this matches
    /\x03\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|BEGIN|COMMIT|ROLLBACK|SET|SHOW|CALL|WITH)\b/i.exec(
      payload,
    );
  return m ? `mysql ${(m[1] as string).toUpperCase()}` : undefined;
}

const DNS_TYPES: Record<number, string> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  15: "MX",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
  64: "SVCB",
  65: "HTTPS",
  255: "ANY",
};

/**
 * DNS query: the QNAME (length-prefixed labels ending with a zero byte) and QTYPE of the
 * first question. The 12-byte header may contain non-ASCII bytes, so the question is
 * located by scanning for a well-formed label sequence rather than by offset.
 */
export function dnsEndpoint(payload: string): string | undefined {
  // Over TCP a 2-byte length prefix comes first; scanning covers both transports.
  const limit = Math.min(payload.length, 512);
  for (let start = 2; start < limit; start++) {
    const q = parseQname(payload, start);
    if (!q) continue;
    const qtype = payload.charCodeAt(q.end) * 256 + payload.charCodeAt(q.end + 1);
    const type = Number.isNaN(qtype) ? undefined : (DNS_TYPES[qtype] ?? `TYPE${qtype}`);
    return type ? `DNS ${type} ${q.name}` : `DNS ${q.name}`;
  }
  return undefined;
}

function parseQname(p: string, start: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let i = start;
  for (;;) {
    const len = p.charCodeAt(i);
    if (Number.isNaN(len)) return undefined;
    if (len === 0) break;
    if (len > 63) return undefined;
    const label = p.slice(i + 1, i + 1 + len);
    if (label.length !== len || !/^[A-Za-z0-9_-]+$/.test(label)) return undefined;
    labels.push(label);
    i += 1 + len;
  }
  if (labels.length === 0) return undefined;
  return { name: labels.join("."), end: i + 1 };
}
