/**
 * The common step of every adapter: a format-neutral draft of a span gets its derived
 * fields (deterministic id, endpoint, observed ids, status, service identity, wall-clock
 * times) and is completed into the protobuf Span, or appended to a SpanTable.
 */
import {
  type Connection,
  Direction,
  type ObservedId,
  type Span,
} from "../gen/deeptrace/span/v1/span_pb.js";
import { MalformedDocument } from "./document-fields.js";
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

/**
 * What every span gets from its draft, whatever it is stored as (a protobuf Span, or a row
 * of a SpanTable): the one place these fields are computed.
 */
export interface DerivedFields {
  spanId: string;
  endpoint: string;
  service: string;
  status: string;
  error: boolean;
  observedIds: ObservedId[];
  /** Wall clock: raw time plus clock offset. */
  startTimeNs: bigint;
  endTimeNs: bigint;
}

export function deriveFields(d: SpanDraft): DerivedFields {
  const startTimeNs = d.rawStartNs + d.clockOffsetNs;
  const endTimeNs = d.rawEndNs + d.clockOffsetNs;
  // The protobuf Span and the SpanTable hold int64 times.
  if (!(isInt64(d.rawStartNs) && isInt64(d.rawEndNs) && isInt64(startTimeNs) && isInt64(endTimeNs)))
    throw new MalformedDocument("time is out of the int64 range");
  const egress = d.direction === Direction.EGRESS;
  const { status, error } = statusOf(d.protocol, d.respPayload, egress);
  const ownIp = egress ? d.connection.dstIp : d.connection.srcIp;
  return {
    spanId: spanIdFor(d.agent, d.index, d.docId),
    endpoint:
      parseEndpoint(d.protocol, d.reqPayload) ?? (d.endpointHint || d.protocol || "unknown"),
    service: serviceIdentity({
      containerName: d.containerName,
      comm: d.comm,
      ownIp,
      hostname: d.hostname,
      agent: d.agent,
    }),
    status,
    error,
    observedIds: observedIdsIn(d.reqPayload),
    startTimeNs,
    endTimeNs,
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Compared, not converted: BigInt.asIntN allocated a bigint per check. */
function isInt64(t: bigint): boolean {
  return t >= INT64_MIN && t <= INT64_MAX;
}

export function completeSpan(d: SpanDraft, f: DerivedFields = deriveFields(d)): Span {
  return {
    $typeName: "deeptrace.span.v1.Span",
    spanId: f.spanId,
    agent: d.agent,
    sourceIndex: d.index,
    sourceDocId: d.docId,
    direction: d.direction,
    protocol: d.protocol,
    endpoint: f.endpoint,
    service: f.service,
    tgid: d.tgid,
    threadId: d.threadId,
    comm: d.comm,
    connection: { $typeName: "deeptrace.span.v1.Connection", ...d.connection },
    containerId: d.containerId,
    containerName: d.containerName,
    hostname: d.hostname,
    startTimeNs: f.startTimeNs,
    endTimeNs: f.endTimeNs,
    rawStartNs: d.rawStartNs,
    rawEndNs: d.rawEndNs,
    clockOffsetNs: d.clockOffsetNs,
    reqSize: d.reqSize,
    respSize: d.respSize,
    reqPayload: d.reqPayload,
    respPayload: d.respPayload,
    status: f.status,
    error: f.error,
    reqSeq: d.reqSeq,
    respSeq: d.respSeq,
    observedIds: f.observedIds,
    labels: d.labels,
  };
}
