/**
 * The agent's raw request/response dump (upstream `rps100-spans.json`): pairs
 * `{ req, resp }` where each side carries tgid, pid (thread), timestamp_ns (monotonic),
 * quintuple (u32 host-order IPv4, ports, l4_protocol), direction, comm, payload, protocol,
 * type (or type_), enter_seq/exit_seq and uuid (socket id).
 *
 * The quintuple is the raw (local, remote) pair of the syscall, so it is normalised here:
 * for an Ingress span (this process served) local is the server side; for an Egress span
 * local is the client side and the two ends swap. The span's direction is the request's.
 */
import { Direction } from "../gen/deeptrace/span/v1/span_pb.js";
import { addressFrom } from "./address.js";
import { directionFrom } from "./agent-document.js";
import type { DocumentContext } from "./document-context.js";
import {
  bigintAt,
  isObject,
  type JsonObject,
  MalformedDocument,
  objectAt,
  optionalBigintAt,
  stringAt,
  textAt,
  uintAt,
} from "./document-fields.js";
import { cleanComm, type SpanDraft } from "./span-draft.js";

/** Normalised connection from a raw (local, remote) quintuple and the span's direction. */
export function normaliseQuintuple(
  q: JsonObject,
  direction: Direction.INGRESS | Direction.EGRESS,
  path: string,
) {
  const local = addressFrom(q.src_addr ?? q.src_ip);
  const remote = addressFrom(q.dst_addr ?? q.dst_ip);
  if (local === undefined || remote === undefined) {
    throw new MalformedDocument(`${path} addresses are missing or invalid`);
  }
  const localPort = uintAt(q, "src_port", `${path}.src_port`, 65535);
  const remotePort = uintAt(q, "dst_port", `${path}.dst_port`, 65535);
  const l4 = typeof q.l4_protocol === "string" ? q.l4_protocol.replace(/^IPPROTO_/, "") : "";
  return direction === Direction.INGRESS
    ? { l4Protocol: l4, srcIp: local, srcPort: localPort, dstIp: remote, dstPort: remotePort }
    : { l4Protocol: l4, srcIp: remote, srcPort: remotePort, dstIp: local, dstPort: localPort };
}

export function draftFromPair(pair: unknown, ctx: DocumentContext): SpanDraft {
  if (!isObject(pair)) throw new MalformedDocument("document is not an object");
  const req = objectAt(pair, "req", "req");
  const resp = objectAt(pair, "resp", "resp");
  const reqType = req.type ?? req.type_;
  const respType = resp.type ?? resp.type_;
  if (reqType !== undefined && reqType !== "Request")
    throw new MalformedDocument("req.type is not Request");
  if (respType !== undefined && respType !== "Response") {
    throw new MalformedDocument("resp.type is not Response");
  }
  const tgid = uintAt(req, "tgid", "req.tgid");
  if (resp.tgid !== undefined && resp.tgid !== tgid)
    throw new MalformedDocument("resp.tgid differs from req.tgid");
  const rawStartNs = bigintAt(req, "timestamp_ns", "req.timestamp_ns");
  const rawEndNs = bigintAt(resp, "timestamp_ns", "resp.timestamp_ns");
  if (rawEndNs < rawStartNs)
    throw new MalformedDocument("resp.timestamp_ns is before req.timestamp_ns");
  const direction = directionFrom(stringAt(req, "direction", "req.direction"), "req.direction");
  const connection = normaliseQuintuple(
    objectAt(req, "quintuple", "req.quintuple"),
    direction,
    "req.quintuple",
  );
  const threadId = uintAt(req, "pid", "req.pid");
  const reqPayload = textAt(req, "payload", "req.payload");
  const respPayload = textAt(resp, "payload", "resp.payload");
  const reqSeq = optionalBigintAt(req, "enter_seq", "req.enter_seq") ?? 0n;
  const socket = typeof req.uuid === "number" ? req.uuid : 0;
  return {
    agent: ctx.agent,
    index: ctx.index,
    docId: ctx.docId ?? `${tgid}:${threadId}:${socket}:${rawStartNs}:${reqSeq}`,
    direction,
    protocol: stringAt(req, "protocol", "req.protocol"),
    tgid,
    threadId,
    comm: cleanComm(textAt(req, "comm", "req.comm")),
    connection,
    containerId: "",
    containerName: "",
    hostname: "",
    rawStartNs,
    rawEndNs,
    clockOffsetNs: ctx.clockOffsetNs ?? 0n,
    // The dump has no size fields: the captured payload length is the best available.
    reqSize: BigInt(reqPayload.length),
    respSize: BigInt(respPayload.length),
    reqPayload,
    respPayload,
    reqSeq,
    respSeq: optionalBigintAt(resp, "enter_seq", "resp.enter_seq") ?? 0n,
    labels: {},
  };
}
