/**
 * The upstream flat test document (what upstream's database test loader stores per span):
 *
 *   { tgid, pid, component_name, protocol, direction, src_ip, src_port, dst_ip, dst_port,
 *     start_time, end_time, duration, req_content, resp_content, req_size, resp_size,
 *     endpoint, trace_id, span_id, parent_id }
 *
 * Upstream fills it straight from the raw dump, so its addresses (u32 numbers or dotted
 * strings) are the raw (local, remote) pair and are normalised by direction like the dump.
 * Its `endpoint` (upstream: the Host header) is only a fallback when the payload does not
 * give one; its random `span_id` is used as the document id when no other id is known.
 */
import { directionFrom } from "./agent-document.js";
import type { DocumentContext } from "./document-context.js";
import {
  bigintAt,
  isObject,
  MalformedDocument,
  optionalBigintAt,
  stringAt,
  textAt,
  uintAt,
} from "./document-fields.js";
import { normaliseQuintuple } from "./pairs-dump.js";
import { cleanComm, type SpanDraft } from "./span-draft.js";

export function draftFromFlatDocument(doc: unknown, ctx: DocumentContext): SpanDraft {
  if (!isObject(doc)) throw new MalformedDocument("document is not an object");
  const rawStartNs = bigintAt(doc, "start_time", "start_time");
  const rawEndNs = bigintAt(doc, "end_time", "end_time");
  if (rawEndNs < rawStartNs) throw new MalformedDocument("end_time is before start_time");
  const direction = directionFrom(stringAt(doc, "direction", "direction"), "direction");
  const connection = normaliseQuintuple(doc, direction, "address");
  const tgid = uintAt(doc, "tgid", "tgid");
  const threadId = uintAt(doc, "pid", "pid");
  const reqPayload = textAt(doc, "req_content", "req_content");
  const respPayload = textAt(doc, "resp_content", "resp_content");
  const ownId = typeof doc.span_id === "string" && doc.span_id ? doc.span_id : undefined;
  return {
    agent: ctx.agent,
    index: ctx.index,
    docId:
      ctx.docId ??
      ownId ??
      `${tgid}:${threadId}:${connection.srcIp}:${connection.srcPort}:${connection.dstIp}:${connection.dstPort}:${rawStartNs}`,
    direction,
    protocol: stringAt(doc, "protocol", "protocol"),
    tgid,
    threadId,
    comm: cleanComm(textAt(doc, "component_name", "component_name")),
    connection,
    containerId: "",
    containerName: "",
    hostname: "",
    rawStartNs,
    rawEndNs,
    clockOffsetNs: ctx.clockOffsetNs ?? 0n,
    reqSize: optionalBigintAt(doc, "req_size", "req_size") ?? BigInt(reqPayload.length),
    respSize: optionalBigintAt(doc, "resp_size", "resp_size") ?? BigInt(respPayload.length),
    reqPayload,
    respPayload,
    reqSeq: 0n,
    respSeq: 0n,
    labels: {},
    endpointHint: typeof doc.endpoint === "string" ? doc.endpoint : undefined,
  };
}
