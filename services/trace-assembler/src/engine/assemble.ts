/**
 * The reconstruction engine's single entry point: spans in, trace documents, a service
 * graph and link statistics out. Pure and deterministic: the same spans, in any order,
 * give the same result.
 *
 *   const { traces, graph, stats } = assemble(spans, { algorithm: "deeptrace" });
 *
 * Steps: canonical compact model (model.ts); cross-component links by connection with
 * skew estimation and a NAT fallback (cross-links.ts); intra-component candidates by time
 * containment (candidates.ts) linked by DeepTrace (deeptrace.ts) or the FIFO baseline
 * (fifo.ts); union-find assembly into Trace documents (assembly.ts), filtered to the
 * window when one is given; the service graph of the emitted traces (service-graph.ts).
 *
 * Observed propagated ids (X-Request-Id, traceparent, B3, uber-trace-id) are ground truth
 * for scoring and are not used for linking unless `useObservedIds` is set; then an Egress
 * span whose candidate parents include exactly the spans carrying its id is linked to the
 * earliest of them (link kind OBSERVED) before the algorithm runs on the rest.
 */
import type { ObservedId, Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { ServiceGraph, Trace } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { groundTruthId } from "@deeptrace/shared/spans/observed-ids";
import { payloadSlot, REQUEST, RESPONSE } from "@deeptrace/shared/spans/payloads";
import { type SpanTable, spanTableFromSpans } from "@deeptrace/shared/spans/span-table";
import { assembleTraces } from "./assembly.js";
import { findCandidates } from "./candidates.js";
import { type CrossLinkResult, type CrossLinkStats, crossLinks } from "./cross-links.js";
import { type DeepTraceStats, deepTraceLinks } from "./deeptrace.js";
import { dnsDials, inheritDialParents } from "./dns-dial.js";
import { fifoLinks } from "./fifo.js";
import { LINK_CROSS, LINK_INTRA, LINK_OBSERVED, Links } from "./links.js";
import { buildModel, EGRESS, groupBy, INGRESS, type SpanModel } from "./model.js";
import { PayloadMatch } from "./payload-match.js";
import {
  DEFAULT_TOKEN_OPTIONS,
  NO_PAYLOAD,
  type SpanTokens,
  spanTokens,
  type TokenOptions,
} from "./payload-tokens.js";
import { serviceGraph } from "./service-graph.js";

export type Algorithm = "deeptrace" | "fifo";

export interface EngineTuning {
  /** Largest clock disagreement between two hosts accepted for cross links, ns. */
  skewToleranceNs: number;
  /** Tolerance around the estimated skew of two hosts, ns. */
  residualToleranceNs: number;
  /**
   * Most recently started open parents proposed per Egress span, besides those sharing a
   * transaction field or the thread with it.
   */
  recentCandidates: number;
  /** DeepTrace re-estimation rounds. */
  rounds: number;
  tokens: Omit<TokenOptions, "maskPropagatedIds">;
}

export const DEFAULT_TUNING: EngineTuning = {
  skewToleranceNs: 500e6,
  residualToleranceNs: 5e6,
  recentCandidates: 8,
  rounds: 3,
  tokens: DEFAULT_TOKEN_OPTIONS,
};

export interface AssembleOptions {
  algorithm: Algorithm;
  /** Emit only traces whose root starts in [startNs, endNs) (wall clock ns). */
  window?: { startNs: bigint; endNs: bigint };
  /** Link through observed propagated ids where they identify the parent. Off by default. */
  useObservedIds?: boolean;
  /**
   * Blank the values of propagated-id headers and fields (X-Request-Id, request_id,
   * traceparent, b3, X-B3-*, uber-trace-id) before computing payload features, to measure
   * accuracy without them. Off by default: like the upstream DeepTrace, the default
   * feature set reads every transaction field, these included.
   */
  maskPropagatedIds?: boolean;
  /** Ids of spans that arrived after their window was first published. */
  lateSpanIds?: ReadonlySet<string>;
  /** Recorded on every trace document. */
  windowId?: string;
  tuning?: Partial<EngineTuning>;
}

export interface AssembleStats {
  spans: number;
  /** Emitted traces (inside the window) and all traces found in the batch. */
  traces: number;
  tracesTotal: number;
  links: { cross: number; crossNatFallback: number; intra: number; observed: number };
  /** Spans without a parent that should have one (Egress spans with no parent found). */
  unlinkedEgress: number;
  /** Ingress spans with no caller span (entry points or untraced callers). */
  unlinkedIngress: number;
  /** Emitted traces whose root is a fragment (orphan_count > 0). */
  orphanTraces: number;
  cyclesBroken: number;
  /** Egress spans whose captured response disagrees with their callee's (agent pairing errors). */
  suspectResponses: number;
  skews: CrossLinkStats["skews"];
  deeptrace?: DeepTraceStats;
  timingsMs: {
    model: number;
    cross: number;
    intra: number;
    assembly: number;
    graph: number;
    total: number;
  };
}

export interface AssembleResult {
  traces: Trace[];
  graph: ServiceGraph;
  stats: AssembleStats;
  /** Parent span id per span id ("" for roots), for scoring and debugging. */
  parents: Map<string, string>;
}

/** Assemble protobuf Spans (the service path): a SpanTable over them, then assembleTable. */
export function assemble(spans: readonly Span[], options: AssembleOptions): AssembleResult {
  return assembleTable(spanTableFromSpans(spans), options);
}

/** Assemble the spans of a table (the batch path builds the table without Span messages). */
export function assembleTable(table: SpanTable, options: AssembleOptions): AssembleResult {
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const t0 = performance.now();
  const model = buildModel(table);
  const { spanId } = table;
  const { row } = model;
  const match = new PayloadMatch(table.payloads);
  const links = new Links(model.n);
  const t1 = performance.now();

  const { stats: cross, skewOf } = crossLinks(model, links, {
    skewToleranceNs: tuning.skewToleranceNs,
    residualToleranceNs: tuning.residualToleranceNs,
    similarity: (e, g) =>
      match.similarity(
        payloadSlot(row[e] as number, REQUEST),
        payloadSlot(row[g] as number, REQUEST),
      ),
  });
  const suspectResponses = checkResponses(model, links, skewOf, match);
  const t2 = performance.now();

  const fixed = new Int32Array(model.n).fill(-1);
  let deeptrace: DeepTraceStats | undefined;
  if (options.useObservedIds) linkObserved(model, links, fixed);
  if (options.algorithm === "fifo") {
    fifoLinks(model, links, fixed);
  } else {
    const tokens = payloadTokens(model, {
      ...tuning.tokens,
      maskPropagatedIds: options.maskPropagatedIds ?? false,
    });
    const candidates = findCandidates(model, tokens, tuning.recentCandidates);
    deeptrace = deepTraceLinks(model, candidates, links, fixed, { rounds: tuning.rounds });
    inheritDialParents(model, links, dnsDials(model), fixed);
  }
  const t3 = performance.now();

  // Span ids as strings from here on (the trace documents and parents carry them).
  const ids = Array.from(row, (r) => spanId.text(r));
  const assembly = assembleTraces(model, links, ids, options);
  const t4 = performance.now();
  const graph = serviceGraph(model, links, assembly.members);
  const t5 = performance.now();

  const count = { cross: 0, intra: 0, observed: 0 };
  let unlinkedEgress = 0;
  let unlinkedIngress = 0;
  for (let i = 0; i < model.n; i++) {
    const k = links.kind[i];
    if (k === LINK_CROSS) count.cross++;
    else if (k === LINK_INTRA) count.intra++;
    else if (k === LINK_OBSERVED) count.observed++;
    const p = links.parent[i] as number;
    if (p < 0) {
      if (model.direction[i] === 2) unlinkedEgress++;
      else unlinkedIngress++;
    }
  }
  let parents: Map<string, string> | undefined;
  return {
    traces: assembly.traces,
    graph,
    // Built when first read: only scoring and tests read it, and at a million spans the
    // map costs as much as the service graph.
    get parents() {
      parents ??= parentMap(links.parent, ids);
      return parents;
    },
    stats: {
      spans: model.n,
      traces: assembly.traces.length,
      tracesTotal: assembly.tracesTotal,
      links: {
        cross: count.cross,
        crossNatFallback: cross.byNatFallback,
        intra: count.intra,
        observed: count.observed,
      },
      unlinkedEgress,
      unlinkedIngress,
      orphanTraces: assembly.traces.filter((t) => (t.completeness?.orphanCount ?? 0) > 0).length,
      cyclesBroken: assembly.cyclesBroken,
      suspectResponses,
      skews: cross.skews,
      deeptrace,
      timingsMs: {
        model: t1 - t0,
        cross: t2 - t1,
        intra: t3 - t2,
        assembly: t4 - t3,
        graph: t5 - t4,
        total: t5 - t0,
      },
    },
  };
}

/** Parent span id per span id ("" for roots). */
function parentMap(parent: Int32Array, ids: readonly string[]): Map<string, string> {
  const parents = new Map<string, string>();
  for (let i = 0; i < ids.length; i++) {
    const p = parent[i] as number;
    parents.set(ids[i] as string, p >= 0 ? (ids[p] as string) : "");
  }
  return parents;
}

/**
 * Catch responses the agent paired with the wrong request: a caller's Egress span and its
 * callee's Ingress span captured the same response, so when the two disagree one of them
 * belongs to another request: the one that ends later (it waited for a later response).
 * When that is the caller, its response (and with it its end time) is not its own. Such a span's
 * effective end becomes the callee's end on the caller's clock, and its response is not
 * used as evidence. Returns how many spans were caught.
 */
function checkResponses(
  model: SpanModel,
  links: Links,
  skewOf: CrossLinkResult["skewOf"],
  match: PayloadMatch,
): number {
  let caught = 0;
  for (let g = 0; g < model.n; g++) {
    const e = links.parent[g] as number;
    if (e < 0 || links.kind[g] !== LINK_CROSS || model.direction[e] !== EGRESS) continue;
    const callerResponse = payloadSlot(model.row[e] as number, RESPONSE);
    const calleeResponse = payloadSlot(model.row[g] as number, RESPONSE);
    if (!match.disagree(callerResponse, calleeResponse)) continue;
    // The side that waited longer got a later response than its own. When that is the
    // callee, the caller's capture is fine.
    const calleeEnd = (model.end[g] as number) - skewOf(e, g);
    if ((model.end[e] as number) < calleeEnd) continue;
    model.suspectResponse[e] = 1;
    model.effectiveEnd[e] = calleeEnd;
    caught++;
  }
  return caught;
}

/**
 * Rare payload tokens of the spans that take part in intra linking (Ingress and Egress
 * spans of processes that have both). A response the agent paired with another request
 * is left out: it is no evidence either way.
 */
function payloadTokens(model: SpanModel, options: TokenOptions): SpanTokens {
  const { direction, process } = model;
  const has = new Uint8Array(model.counts.process);
  for (let i = 0; i < model.n; i++) {
    const p = process[i] as number;
    has[p] = (has[p] as number) | (direction[i] as number);
  }
  const { row, suspectResponse } = model;
  // In table row order (the tokens do not depend on it): the payloads are then read where
  // they lie in the text arena, one after another, instead of a cache miss per payload.
  const ofRow = new Int32Array(model.n);
  for (let i = 0; i < model.n; i++) ofRow[row[i] as number] = i;
  const members: number[] = [];
  for (let r = 0; r < model.n; r++) {
    const i = ofRow[r] as number;
    if (has[process[i] as number] === 3) members.push(i);
  }
  return spanTokens(
    model.n,
    members,
    {
      texts: model.table.payloads,
      slot: (i, side) =>
        side === RESPONSE && suspectResponse[i] ? NO_PAYLOAD : payloadSlot(row[i] as number, side),
    },
    options,
  );
}
/**
 * Observed-id shortcut: an Egress span goes to the earliest-started Ingress span of its
 * process that carries the same propagated id and was open when it started.
 */
function linkObserved(model: SpanModel, links: Links, fixed: Int32Array): void {
  const { direction, start, end } = model;
  const byProcess = groupBy(model.process, model.counts.process, (i) => direction[i] !== 0);
  const open = new Map<string, number[]>();
  for (let p = 0; p < model.counts.process; p++) {
    open.clear();
    for (let m = byProcess.offsets[p] as number; m < (byProcess.offsets[p + 1] as number); m++) {
      const i = byProcess.members[m] as number;
      const id = groundTruthId(model.table.observedIds[model.row[i] as number] as ObservedId[]);
      if (id === undefined) continue;
      const list = open.get(id);
      if (direction[i] === INGRESS) {
        if (list) list.push(i);
        else open.set(id, [i]);
        continue;
      }
      const g = list?.find((g) => (end[g] as number) >= (start[i] as number));
      if (g === undefined) continue;
      fixed[i] = g;
      links.set(i, g, LINK_OBSERVED, 1);
    }
  }
}
