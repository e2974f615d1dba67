/**
 * Cross-component links: a caller's Egress span to the callee's Ingress span of the same
 * request.
 *
 * 1. By connection. Both sides of one call carry the same protocol and normalised 4-tuple,
 *    and requests on one connection arrive in the order they were sent, so within a
 *    connection the two sides are matched one to one, in order (a merge of two sorted
 *    lists). A callee span is consistent with a caller span when it starts within the
 *    caller's interval widened by the skew tolerance, after shifting by the clock skew
 *    estimated between the two agents. Only starts are compared: an agent that pairs a
 *    request with the wrong response shifts a span's end, never its start. Spans missing
 *    on either side are skipped, not force-matched. When several callee spans fit one
 *    caller span (multiplexed HTTP/2), the earliest with the same endpoint wins, then
 *    payload similarity breaks the tie.
 * 2. NAT fallback. Spans still unmatched are keyed by protocol, server port and endpoint
 *    (the 4-tuple is rewritten by NAT, the server port and endpoint usually are not) and
 *    matched one to one by the closest consistent start time.
 *
 * Skew: a first pass with the full tolerance estimates, per (caller agent, callee agent),
 * the median start offset of matched pairs; the second pass matches again around it.
 * Everything is a sort plus linear merges.
 */
import { LINK_CROSS, type Links } from "./links.js";
import { EGRESS, groupBy, INGRESS, type SpanModel } from "./model.js";

export interface CrossLinkOptions {
  /** Largest clock disagreement between hosts still accepted, ns. */
  skewToleranceNs: number;
  /** Tolerance around the estimated skew in the second pass, ns. */
  residualToleranceNs: number;
  /** Payload similarity of two spans (tie-break only), or undefined when unavailable. */
  similarity?: (egress: number, ingress: number) => number;
}

export interface CrossLinkStats {
  byConnection: number;
  byNatFallback: number;
  /** Estimated clock skew (callee minus caller, ns) per agent pair with matches. */
  skews: { callerAgent: number; calleeAgent: number; skewNs: number; pairs: number }[];
}

export interface CrossLinkResult {
  stats: CrossLinkStats;
  /** Estimated clock skew (callee minus caller, ns) between the hosts of two spans. */
  skewOf: (egress: number, ingress: number) => number;
}

export function crossLinks(
  model: SpanModel,
  links: Links,
  options: CrossLinkOptions,
): CrossLinkResult {
  const { direction } = model;
  const byConn = groupBy(model.connection, model.counts.connection, (i) => direction[i] !== 0);
  const matchedIngress = new Uint8Array(model.n);
  const matchedEgress = new Int32Array(model.n).fill(-1);

  // Pass 1: wide tolerance, no skew, to estimate skew per agent pair.
  const nAgents = model.counts.agent;
  const deltas = new Map<number, number[]>();
  matchConnections(
    model,
    byConn,
    options,
    () => 0,
    options.skewToleranceNs,
    (e, g) => {
      const key = (model.agent[e] as number) * nAgents + (model.agent[g] as number);
      let list = deltas.get(key);
      if (!list) {
        list = [];
        deltas.set(key, list);
      }
      list.push((model.start[g] as number) - (model.start[e] as number));
    },
  );
  // Skew per (caller agent, callee agent), 0 for pairs without matches: a dense table
  // (read for every span pair the second pass compares) unless there are very many agents.
  const skew = new Map<number, number>();
  const skewTable = nAgents * nAgents <= 1 << 20 ? new Float64Array(nAgents * nAgents) : undefined;
  const skews: CrossLinkStats["skews"] = [];
  for (const key of [...deltas.keys()].sort((a, b) => a - b)) {
    const list = (deltas.get(key) as number[]).sort((a, b) => a - b);
    const median = list[list.length >> 1] as number;
    skew.set(key, median);
    if (skewTable) skewTable[key] = median;
    skews.push({
      callerAgent: Math.floor(key / nAgents),
      calleeAgent: key % nAgents,
      skewNs: median,
      pairs: list.length,
    });
  }
  const { agent } = model;
  const skewOf = skewTable
    ? (e: number, g: number) =>
        skewTable[(agent[e] as number) * nAgents + (agent[g] as number)] as number
    : (e: number, g: number) =>
        skew.get((agent[e] as number) * nAgents + (agent[g] as number)) ?? 0;

  // Pass 2: around the estimated skew.
  let byConnection = 0;
  matchConnections(model, byConn, options, skewOf, options.residualToleranceNs, (e, g) => {
    matchedIngress[g] = 1;
    matchedEgress[e] = g;
    links.set(g, e, LINK_CROSS, 1);
    byConnection++;
  });

  // NAT fallback for what is left.
  const byServer = groupBy(
    model.serverKey,
    model.counts.serverKey,
    (i) =>
      (direction[i] === EGRESS && matchedEgress[i] === -1) ||
      (direction[i] === INGRESS && matchedIngress[i] === 0),
  );
  let byNatFallback = 0;
  for (let k = 0; k < model.counts.serverKey; k++) {
    const from = byServer.offsets[k] as number;
    const to = byServer.offsets[k + 1] as number;
    if (to - from < 2) continue;
    const egress: number[] = [];
    const ingress: number[] = [];
    for (let m = from; m < to; m++) {
      const i = byServer.members[m] as number;
      (direction[i] === EGRESS ? egress : ingress).push(i);
    }
    if (egress.length === 0 || ingress.length === 0) continue;
    byNatFallback += natMatch(model, egress, ingress, options, skewOf, links);
  }
  return { stats: { byConnection, byNatFallback, skews }, skewOf };
}

function matchConnections(
  model: SpanModel,
  byConn: { offsets: Int32Array; members: Int32Array },
  options: CrossLinkOptions,
  skewOf: (e: number, g: number) => number,
  tolerance: number,
  onMatch: (egress: number, ingress: number) => void,
): void {
  const { direction, start, end, process } = model;
  const egress: number[] = [];
  const ingress: number[] = [];
  let taken = new Uint8Array(64);
  for (let c = 0; c < model.counts.connection; c++) {
    const from = byConn.offsets[c] as number;
    const to = byConn.offsets[c + 1] as number;
    if (to - from < 2) continue;
    egress.length = 0;
    ingress.length = 0;
    for (let m = from; m < to; m++) {
      const i = byConn.members[m] as number;
      (direction[i] === EGRESS ? egress : ingress).push(i);
    }
    if (egress.length === 0 || ingress.length === 0) continue;
    if (taken.length < ingress.length) taken = new Uint8Array(ingress.length * 2);
    else taken.fill(0, 0, ingress.length);
    let low = 0; // first ingress not yet taken or skipped
    for (let at = 0; at < egress.length; at++) {
      const e = egress[at] as number;
      while (low < ingress.length && taken[low]) low++;
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      let bestSim = -1;
      for (let j = low; j < ingress.length; j++) {
        if (taken[j]) continue;
        const g = ingress[j] as number;
        // A process never calls itself through one connection's two ends.
        if (process[g] === process[e]) continue;
        const gs = (start[g] as number) - skewOf(e, g);
        if (gs < (start[e] as number) - tolerance) {
          // Too early for this caller span, and the next caller spans start later still.
          if (j === low) low++;
          continue;
        }
        if (gs > (end[e] as number) + tolerance) break;
        // In-order preference; same endpoint first; similarity only among equals.
        const rank = model.endpoint[g] === model.endpoint[e] ? 0 : 1;
        if (best === -1 || rank < bestRank) {
          best = j;
          bestRank = rank;
          bestSim = -1;
          if (!options.similarity || !overlapsNext(model, at, egress)) break;
          continue;
        }
        if (rank === bestRank && options.similarity) {
          if (bestSim < 0) bestSim = options.similarity(e, ingress[best] as number);
          const sim = options.similarity(e, g);
          if (sim > bestSim) {
            best = j;
            bestSim = sim;
          }
        }
      }
      if (best >= 0) {
        taken[best] = 1;
        onMatch(e, ingress[best] as number);
      }
    }
  }
}

/** Whether caller span egress[at] overlaps another caller span on its connection (multiplexing). */
function overlapsNext(model: SpanModel, at: number, egress: readonly number[]): boolean {
  const e = egress[at] as number;
  const next = egress[at + 1];
  const prev = egress[at - 1];
  return (
    (next !== undefined && (model.start[next] as number) < (model.end[e] as number)) ||
    (prev !== undefined && (model.end[prev] as number) > (model.start[e] as number))
  );
}

function natMatch(
  model: SpanModel,
  egress: number[],
  ingress: number[],
  options: CrossLinkOptions,
  skewOf: (e: number, g: number) => number,
  links: Links,
): number {
  const { start, end, process } = model;
  const taken = new Uint8Array(ingress.length);
  let low = 0;
  let matched = 0;
  const tol = options.skewToleranceNs;
  for (const e of egress) {
    while (low < ingress.length && taken[low]) low++;
    let best = -1;
    let bestGap = Number.POSITIVE_INFINITY;
    for (let j = low; j < ingress.length; j++) {
      if (taken[j]) continue;
      const g = ingress[j] as number;
      if (process[g] === process[e]) continue;
      const gs = (start[g] as number) - skewOf(e, g);
      if (gs < (start[e] as number) - tol) {
        if (j === low) low++;
        continue;
      }
      if (gs > (end[e] as number) + tol) break;
      const gap = Math.abs(gs - (start[e] as number));
      if (gap < bestGap) {
        best = j;
        bestGap = gap;
      }
    }
    if (best >= 0) {
      taken[best] = 1;
      const g = ingress[best] as number;
      // Weaker evidence than a shared connection: score by how tight the timing is.
      const span = Math.max(1, (end[e] as number) - (start[e] as number));
      links.set(g, e, LINK_CROSS, 0.5 * Math.max(0, 1 - bestGap / (span + tol)));
      matched++;
    }
  }
  return matched;
}
