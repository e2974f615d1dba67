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

/**
 * Give every span of one process the same service identity. Without a container name a
 * process's Egress spans only know their client address (often loopback or another
 * interface), so within a batch the identity of the process's Ingress spans wins (the
 * most frequent, ties by name), else the most frequent of its Egress spans.
 * Order-independent: the result does not depend on the order of `spans`.
 */
export function unifyProcessServices(spans: readonly Span[]): void {
  // process key -> service -> [ingress votes, egress votes]
  const votes = new Map<string, Map<string, [number, number]>>();
  for (const s of spans) {
    if (s.containerName) continue;
    const key = `${s.agent}\0${s.hostname}\0${s.tgid}`;
    let tally = votes.get(key);
    if (!tally) {
      tally = new Map();
      votes.set(key, tally);
    }
    let count = tally.get(s.service);
    if (!count) {
      count = [0, 0];
      tally.set(s.service, count);
    }
    count[s.direction === Direction.INGRESS ? 0 : 1]++;
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
  for (const s of spans) {
    if (s.containerName) continue;
    const service = chosen.get(`${s.agent}\0${s.hostname}\0${s.tgid}`);
    if (service !== undefined) s.service = service;
  }
}
