/**
 * The common step of every adapter: a format-neutral draft of a span is completed into
 * the protobuf Span (deterministic id, endpoint, observed ids, status, service identity,
 * wall-clock times).
 */
import { type Connection, Direction, type Span } from "../gen/deeptrace/span/v1/span_pb.js";
import { parseEndpoint } from "./endpoint.js";
import { spanIdFor } from "./ids.js";
import { observedIdsIn } from "./observed-ids.js";
import { serviceIdentity } from "./service-identity.js";
import { statusOf } from "./status.js";

export interface SpanDraft {
  agent: string;
  index: string;
  docId: string;
  direction: Direction.INGRESS | Direction.EGRESS;
  protocol: string;
  tgid: number;
  threadId: number;
  comm: string;
  /** Normalised: src is the server side, dst the client side. */
  connection: Omit<Connection, "$typeName">;
  containerId: string;
  containerName: string;
  hostname: string;
  rawStartNs: bigint;
  rawEndNs: bigint;
  clockOffsetNs: bigint;
  reqSize: bigint;
  respSize: bigint;
  reqPayload: string;
  respPayload: string;
  reqSeq: bigint;
  respSeq: bigint;
  labels: Record<string, string>;
  /** An endpoint the document already carries (upstream documents): used when parsing fails. */
  endpointHint?: string;
}

/** Strip the NUL padding of a kernel `comm` and trailing escapes. */
export function cleanComm(comm: string): string {
  const nul = comm.indexOf("\0");
  return (nul >= 0 ? comm.slice(0, nul) : comm).trim();
}

export function completeSpan(d: SpanDraft): Span {
  const egress = d.direction === Direction.EGRESS;
  const { status, error } = statusOf(d.protocol, d.respPayload, egress);
  const ownIp = egress ? d.connection.dstIp : d.connection.srcIp;
  return {
    $typeName: "deeptrace.span.v1.Span",
    spanId: spanIdFor(d.agent, d.index, d.docId),
    agent: d.agent,
    sourceIndex: d.index,
    sourceDocId: d.docId,
    direction: d.direction,
    protocol: d.protocol,
    endpoint:
      parseEndpoint(d.protocol, d.reqPayload) ?? (d.endpointHint || d.protocol || "unknown"),
    service: serviceIdentity({
      containerName: d.containerName,
      comm: d.comm,
      ownIp,
      hostname: d.hostname,
      agent: d.agent,
    }),
    tgid: d.tgid,
    threadId: d.threadId,
    comm: d.comm,
    connection: { $typeName: "deeptrace.span.v1.Connection", ...d.connection },
    containerId: d.containerId,
    containerName: d.containerName,
    hostname: d.hostname,
    startTimeNs: d.rawStartNs + d.clockOffsetNs,
    endTimeNs: d.rawEndNs + d.clockOffsetNs,
    rawStartNs: d.rawStartNs,
    rawEndNs: d.rawEndNs,
    clockOffsetNs: d.clockOffsetNs,
    reqSize: d.reqSize,
    respSize: d.respSize,
    reqPayload: d.reqPayload,
    respPayload: d.respPayload,
    status,
    error,
    reqSeq: d.reqSeq,
    respSeq: d.respSeq,
    observedIds: observedIdsIn(d.reqPayload),
    labels: d.labels,
  };
}
