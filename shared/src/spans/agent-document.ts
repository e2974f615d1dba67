/**
 * The agent's Elasticsearch document (the production contract):
 *
 *   { tag: { ebpf_tag: { tgid, pid, component, direction, protocol, src_ip, dst_ip,
 *                        src_port, dst_port, req_seq, resp_seq },
 *            docker_tag: null | { container_id, container_name (string or array), hostname, ... },
 *            other_tags?: { ... } },
 *     metric: { start_time, end_time, duration, req_size, resp_size },   (monotonic ns)
 *     content: { req_content, resp_content } }
 *
 * Addresses are already normalised by the agent (src = server side, dst = client side).
 */
import { Direction, type Span } from "../gen/deeptrace/span/v1/span_pb.js";
import type { DocumentContext } from "./document-context.js";
import {
  bigintAt,
  flattenLabels,
  isObject,
  type JsonObject,
  MalformedDocument,
  objectAt,
  optionalBigintAt,
  optionalObjectAt,
  stringAt,
  textAt,
  uintAt,
} from "./document-fields.js";
import { containerNameFrom } from "./service-identity.js";
import { cleanComm, completeSpan, type SpanDraft } from "./span-draft.js";

export function directionFrom(value: string, path: string): Direction.INGRESS | Direction.EGRESS {
  const v = value.toLowerCase();
  if (v === "ingress") return Direction.INGRESS;
  if (v === "egress") return Direction.EGRESS;
  throw new MalformedDocument(`${path} is neither Ingress nor Egress`);
}

/** One agent document as a protobuf Span (the poller's path, one document at a time). */
export function spanFromAgentDocument(doc: unknown, ctx: DocumentContext): Span {
  return completeSpan(draftFromAgentDocument(doc, ctx));
}

export function draftFromAgentDocument(doc: unknown, ctx: DocumentContext): SpanDraft {
  if (!isObject(doc)) throw new MalformedDocument("document is not an object");
  const tag = objectAt(doc, "tag", "tag");
  const ebpf = objectAt(tag, "ebpf_tag", "tag.ebpf_tag");
  const docker = optionalObjectAt(tag, "docker_tag", "tag.docker_tag");
  const other = optionalObjectAt(tag, "other_tags", "tag.other_tags");
  const metric = objectAt(doc, "metric", "metric");
  const content = optionalObjectAt(doc, "content", "content") ?? {};

  const rawStartNs = bigintAt(metric, "start_time", "metric.start_time");
  const rawEndNs = bigintAt(metric, "end_time", "metric.end_time");
  if (rawEndNs < rawStartNs)
    throw new MalformedDocument("metric.end_time is before metric.start_time");

  const tgid = uintAt(ebpf, "tgid", "tag.ebpf_tag.tgid");
  const threadId = uintAt(ebpf, "pid", "tag.ebpf_tag.pid");
  const srcIp = stringAt(ebpf, "src_ip", "tag.ebpf_tag.src_ip");
  const dstIp = stringAt(ebpf, "dst_ip", "tag.ebpf_tag.dst_ip");
  const srcPort = uintAt(ebpf, "src_port", "tag.ebpf_tag.src_port", 65535);
  const dstPort = uintAt(ebpf, "dst_port", "tag.ebpf_tag.dst_port", 65535);
  const reqPayload = textAt(content, "req_content", "content.req_content");
  const respPayload = textAt(content, "resp_content", "content.resp_content");

  const labels = other ? flattenLabels(other) : {};
  const docId =
    ctx.docId ?? `${tgid}:${threadId}:${srcIp}:${srcPort}:${dstIp}:${dstPort}:${rawStartNs}`;
  return {
    agent: ctx.agent,
    index: ctx.index,
    docId,
    direction: directionFrom(
      stringAt(ebpf, "direction", "tag.ebpf_tag.direction"),
      "tag.ebpf_tag.direction",
    ),
    protocol: stringAt(ebpf, "protocol", "tag.ebpf_tag.protocol"),
    tgid,
    threadId,
    comm: cleanComm(textAt(ebpf, "component", "tag.ebpf_tag.component")),
    // The agent document does not say which transport it saw.
    connection: { l4Protocol: "", srcIp, srcPort, dstIp, dstPort },
    containerId: docker ? textOrEmpty(docker, "container_id") : "",
    containerName: docker ? containerNameFrom(docker.container_name) : "",
    hostname: docker ? textOrEmpty(docker, "hostname") : "",
    rawStartNs,
    rawEndNs,
    clockOffsetNs: ctx.clockOffsetNs ?? 0n,
    reqSize: optionalBigintAt(metric, "req_size", "metric.req_size") ?? BigInt(reqPayload.length),
    respSize:
      optionalBigintAt(metric, "resp_size", "metric.resp_size") ?? BigInt(respPayload.length),
    reqPayload,
    respPayload,
    reqSeq: optionalBigintAt(ebpf, "req_seq", "tag.ebpf_tag.req_seq") ?? 0n,
    respSeq: optionalBigintAt(ebpf, "resp_seq", "tag.ebpf_tag.resp_seq") ?? 0n,
    labels,
    endpointHint: typeof ebpf.endpoint === "string" ? ebpf.endpoint : undefined,
  };
}

function textOrEmpty(doc: JsonObject, key: string): string {
  const v = doc[key];
  return typeof v === "string" ? v : "";
}
