/**
 * Wire payloads as the eBPF agent captures them: HTTP/1.1 text, Redis RESP, MySQL-like
 * COM_QUERY packets and DNS messages. Binary protocols are rendered the way the agent
 * stores bytes as text (bytes >= 0x80 become U+FFFD); sizes are always the wire sizes.
 */

export interface Payload {
  /** Captured text (possibly truncated). */
  text: string;
  /** Size on the wire in bytes. */
  size: number;
}

/** Stores at most `max` bytes of content, as the agent's capture buffer does. */
export function captured(wire: string, max: number): Payload {
  return { text: wire.length > max ? wire.slice(0, max) : wire, size: wire.length };
}

/** Renders raw bytes (one char per byte) the way the agent's lossy text conversion does. */
export function agentText(bytes: string): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    out += c >= 0x80 ? "\ufffd" : bytes[i];
  }
  return out;
}

export interface HttpRequestSpec {
  method: string;
  /** Path with query string. */
  target: string;
  host: string;
  userAgent: string;
  requestId: string | null;
  /** JSON body for POST/PUT, null for none. */
  body: string | null;
}

export function httpRequest(r: HttpRequestSpec): string {
  let head = `${r.method} ${r.target} HTTP/1.1\r\nHost: ${r.host}\r\nUser-Agent: ${r.userAgent}\r\n`;
  if (r.body !== null) {
    head += `Content-Length: ${r.body.length}\r\nContent-Type: application/json\r\n`;
  }
  if (r.requestId !== null) head += `X-Request-Id: ${r.requestId}\r\n`;
  head += "Accept-Encoding: gzip\r\n\r\n";
  return r.body === null ? head : head + r.body;
}

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  404: "Not Found",
  409: "Conflict",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function httpResponse(status: number, date: string, body: string): string {
  const reason = REASONS[status] ?? "Unknown";
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nDate: ${date}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** A Redis command as a RESP array of bulk strings. */
export function redisCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${a.length}\r\n${a}\r\n`;
  return out;
}

export function redisBulk(value: string | null): string {
  return value === null ? "$-1\r\n" : `$${value.length}\r\n${value}\r\n`;
}

export function redisArray(values: readonly string[]): string {
  let out = `*${values.length}\r\n`;
  for (const v of values) out += `$${v.length}\r\n${v}\r\n`;
  return out;
}

function le24(n: number): string {
  return String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff);
}

function mysqlPacket(seq: number, body: string): string {
  return le24(body.length) + String.fromCharCode(seq & 0xff) + body;
}

function lenenc(s: string): string {
  return String.fromCharCode(s.length) + s;
}

/** MySQL COM_QUERY packet (wire bytes). */
export function mysqlQuery(sql: string): string {
  return mysqlPacket(0, `\x03${sql}`);
}

/** MySQL OK packet with the affected row count (wire bytes). */
export function mysqlOk(affectedRows: number): string {
  return mysqlPacket(1, `\x00${String.fromCharCode(affectedRows)}\x00\x02\x00\x00\x00`);
}

/** A small text result set: column count, column definitions, EOF, rows, EOF (wire bytes). */
export function mysqlResultSet(
  schema: string,
  table: string,
  columns: string[],
  rows: string[][],
): string {
  let seq = 1;
  let out = mysqlPacket(seq++, String.fromCharCode(columns.length));
  for (const c of columns) {
    const def = `${lenenc("def")}${lenenc(schema)}${lenenc(table)}${lenenc(table)}${lenenc(c)}${lenenc(c)}\x0c\x21\x00\xff\x00\x00\x00\xfd\x00\x00\x00\x00\x00`;
    out += mysqlPacket(seq++, def);
  }
  out += mysqlPacket(seq++, "\xfe\x00\x00\x22\x00");
  for (const row of rows) out += mysqlPacket(seq++, row.map(lenenc).join(""));
  out += mysqlPacket(seq++, "\xfe\x00\x00\x22\x00");
  return out;
}

function u16(n: number): string {
  return String.fromCharCode((n >> 8) & 0xff, n & 0xff);
}

function dnsName(name: string): string {
  let out = "";
  for (const label of name.split(".")) out += String.fromCharCode(label.length) + label;
  return `${out}\x00`;
}

const EDNS_OPT = "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00";

/** DNS A query with an EDNS OPT record (wire bytes). */
export function dnsQuery(id: number, name: string): string {
  return `${u16(id)}\x01\x20${u16(1)}${u16(0)}${u16(0)}${u16(1)}${dnsName(name)}${u16(1)}${u16(1)}${EDNS_OPT}`;
}

/** DNS answer with one A record (wire bytes). */
export function dnsAnswer(id: number, name: string, ip: string, ttl: number): string {
  const addr = ip
    .split(".")
    .map((p) => String.fromCharCode(Number(p) & 0xff))
    .join("");
  const answer = `\xc0\x0c${u16(1)}${u16(1)}${u16(ttl >> 16)}${u16(ttl & 0xffff)}${u16(4)}${addr}`;
  return `${u16(id)}\x81\x80${u16(1)}${u16(1)}${u16(0)}${u16(1)}${dnsName(name)}${u16(1)}${u16(1)}${answer}${EDNS_OPT}`;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** IMF-fixdate for an HTTP Date header. */
export function httpDate(epochMs: number): string {
  const d = new Date(epochMs);
  const p2 = (n: number): string => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`;
}
