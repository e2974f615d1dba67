/**
 * Service identity: the one id space for services (Span.service, trace services, graph
 * nodes). A container name when the agent knows it, else the process name plus the
 * address it serves on.
 */
import type { Span } from "../gen/deeptrace/span/v1/span_pb.js";
import { Direction } from "../gen/deeptrace/span/v1/span_pb.js";
import { isLoopback } from "./address.js";

export interface IdentityInput {
  containerName: string;
  comm: string;
  /** The process's own address on this span: server side for Ingress, client side for Egress. */
  ownIp: string;
  hostname: string;
  agent: string;
}

export function serviceIdentity(input: IdentityInput): string {
  if (input.containerName) return input.containerName;
  const comm = input.comm || "unknown";
  const where =
    input.ownIp && !isLoopback(input.ownIp) ? input.ownIp : input.hostname || input.agent || "?";
  return `${comm}@${where}`;
}

/** A container name as the agent reports it: a string or an array ("/name" Docker style). */
export function containerNameFrom(value: unknown): string {
  const first = Array.isArray(value) ? value.find((v) => typeof v === "string") : value;
  if (typeof first !== "string") return "";
  return first.startsWith("/") ? first.slice(1) : first;
}

/** Where unifyServices reads and writes the rows it votes over. */
export interface ServiceRows {
  /** Rows without a container name (the others keep their identity). */
  rows: readonly number[];
  /** The process of a row (agent, hostname, tgid). */
  process: (row: number) => string;
  ingress: (row: number) => boolean;
  service: (row: number) => string;
  setService: (row: number, service: string) => void;
}

/**
 * Give every span of one process the same service identity. Without a container name a
 * process's Egress spans only know their client address (often loopback or another
 * interface), so within a batch the identity of the process's Ingress spans wins (the
 * most frequent, ties by name), else the most frequent of its Egress spans.
 * Order-independent: the result does not depend on the order of the rows.
 */
export function unifyServices(t: ServiceRows): void {
  // process key -> service -> [ingress votes, egress votes]
  const votes = new Map<string, Map<string, [number, number]>>();
  for (const r of t.rows) {
    const key = t.process(r);
    let tally = votes.get(key);
    if (!tally) {
      tally = new Map();
      votes.set(key, tally);
    }
    const service = t.service(r);
    let count = tally.get(service);
    if (!count) {
      count = [0, 0];
      tally.set(service, count);
    }
    count[t.ingress(r) ? 0 : 1]++;
  }
  const chosen = new Map<string, string>();
  for (const [key, tally] of votes) {
    let best = "";
    let bestCount: [number, number] = [-1, -1];
    for (const [service, count] of tally) {
      const better =
        count[0] > bestCount[0] ||
        (count[0] === bestCount[0] &&
          (count[1] > bestCount[1] || (count[1] === bestCount[1] && service < best)));
      if (better) {
        best = service;
        bestCount = count;
      }
    }
    chosen.set(key, best);
  }
  for (const r of t.rows) {
    const service = chosen.get(t.process(r));
    if (service !== undefined) t.setService(r, service);
  }
}

/** unifyServices over protobuf Spans. */
export function unifyProcessServices(spans: readonly Span[]): void {
  const rows: number[] = [];
  for (let r = 0; r < spans.length; r++) if (!(spans[r] as Span).containerName) rows.push(r);
  const at = (r: number) => spans[r] as Span;
  unifyServices({
    rows,
    process: (r) => `${at(r).agent}\0${at(r).hostname}\0${at(r).tgid}`,
    ingress: (r) => at(r).direction === Direction.INGRESS,
    service: (r) => at(r).service,
    setService: (r, service) => {
      at(r).service = service;
    },
  });
}
