/**
 * From links to trace documents. Links are joined with union-find (a link that would
 * close a cycle, possible only with badly skewed clocks, is dropped and counted); each
 * set is one trace, rooted at its span without a resolvable parent.
 *
 * Completeness signals per trace:
 *   root_present     the root is an Ingress span the caller of which is not traced on
 *                    the same connection (the request entered the traced system there)
 *   orphan_count     1 when the root is a fragment whose parent should exist: an Egress
 *                    root (no parent found in its process) or an Ingress root whose
 *                    connection has traced caller spans that did not match it
 *   late_span_count  spans listed as late by the caller (re-published windows)
 *   skew_applied     a clock offset was applied to at least one span
 */
import type { Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import {
  LinkKind,
  type Trace,
  type TraceSpan,
} from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { traceIdFor } from "@deeptrace/shared/spans/ids";
import { LINK_CROSS, LINK_INTRA, LINK_OBSERVED, type Links } from "./links.js";
import { EGRESS, INGRESS, type SpanModel } from "./model.js";
import { UnionFind } from "./union-find.js";

export interface AssemblyOptions {
  window?: { startNs: bigint; endNs: bigint };
  lateSpanIds?: ReadonlySet<string>;
  windowId?: string;
}

export interface AssemblyResult {
  traces: Trace[];
  /** Model indices of the spans of each emitted trace, parallel to traces. */
  members: Int32Array[];
  /** Traces before window filtering. */
  tracesTotal: number;
  cyclesBroken: number;
}

const KIND: Record<number, LinkKind> = {
  [LINK_CROSS]: LinkKind.CROSS,
  [LINK_INTRA]: LinkKind.INTRA,
  [LINK_OBSERVED]: LinkKind.OBSERVED,
};

export function assembleTraces(
  model: SpanModel,
  links: Links,
  options: AssemblyOptions,
): AssemblyResult {
  const { n, spans } = model;
  const uf = new UnionFind(n);
  const parent = Int32Array.from(links.parent);
  let cyclesBroken = 0;
  for (let i = 0; i < n; i++) {
    const p = parent[i] as number;
    if (p < 0) continue;
    if (!uf.union(i, p)) {
      parent[i] = -1;
      cyclesBroken++;
    }
  }
  // Group members by set, in canonical order; the set's root is its span without parent.
  const setIndex = new Int32Array(n).fill(-1);
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    if ((parent[i] as number) < 0) {
      setIndex[uf.find(i)] = roots.length;
      roots.push(i);
    }
  }
  const sizes = new Int32Array(roots.length);
  for (let i = 0; i < n; i++) {
    const t = setIndex[uf.find(i)] as number;
    sizes[t] = (sizes[t] as number) + 1;
  }
  const members = Array.from(sizes, (s) => new Int32Array(s));
  const fill = new Int32Array(roots.length);
  for (let i = 0; i < n; i++) {
    const t = setIndex[uf.find(i)] as number;
    (members[t] as Int32Array)[fill[t] as number] = i;
    fill[t] = (fill[t] as number) + 1;
  }

  // Connections on which some caller (Egress) span was captured.
  const callerSeen = new Uint8Array(model.counts.connection);
  for (let i = 0; i < n; i++)
    if (model.direction[i] === EGRESS) callerSeen[model.connection[i] as number] = 1;

  const traces: Trace[] = [];
  const emitted: Int32Array[] = [];
  for (let t = 0; t < roots.length; t++) {
    const root = roots[t] as number;
    const rootSpan = spans[root] as Span;
    const w = options.window;
    if (w && (rootSpan.startTimeNs < w.startNs || rootSpan.startTimeNs >= w.endNs)) continue;
    const ids = members[t] as Int32Array;
    const rootIsIngress = model.direction[root] === INGRESS;
    const orphanRoot = !rootIsIngress || callerSeen[model.connection[root] as number] === 1;
    traces.push(traceDocument(model, links, parent, ids, root, orphanRoot, options));
    emitted.push(ids);
  }
  return { traces, members: emitted, tracesTotal: roots.length, cyclesBroken };
}

function traceDocument(
  model: SpanModel,
  links: Links,
  parent: Int32Array,
  ids: Int32Array,
  root: number,
  orphanRoot: boolean,
  options: AssemblyOptions,
): Trace {
  const { spans } = model;
  const rootSpan = spans[root] as Span;
  let startNs = rootSpan.startTimeNs;
  let endNs = rootSpan.endTimeNs;
  const services = new Set<string>();
  const endpoints = new Set<string>();
  let error = false;
  let late = 0;
  let skewApplied = false;
  const traceSpans: TraceSpan[] = new Array(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const i = ids[k] as number;
    const s = spans[i] as Span;
    if (s.startTimeNs < startNs) startNs = s.startTimeNs;
    if (s.endTimeNs > endNs) endNs = s.endTimeNs;
    services.add(s.service);
    endpoints.add(s.endpoint);
    if (s.error) error = true;
    if (s.clockOffsetNs !== 0n) skewApplied = true;
    if (options.lateSpanIds?.has(s.spanId)) late++;
    const p = parent[i] as number;
    traceSpans[k] = {
      $typeName: "deeptrace.trace.v1.TraceSpan",
      spanId: s.spanId,
      parentSpanId: p >= 0 ? (spans[p] as Span).spanId : "",
      linkKind: p >= 0 ? (KIND[links.kind[i] as number] ?? LinkKind.UNSPECIFIED) : LinkKind.ROOT,
      linkScore: p >= 0 ? (links.score[i] as number) : 0,
      agent: s.agent,
      service: s.service,
      endpoint: s.endpoint,
      direction: s.direction,
      protocol: s.protocol,
      startTimeNs: s.startTimeNs,
      endTimeNs: s.endTimeNs,
      durationNs: s.endTimeNs - s.startTimeNs,
      rawStartNs: s.rawStartNs,
      rawEndNs: s.rawEndNs,
      status: s.status,
      error: s.error,
      tgid: s.tgid,
      threadId: s.threadId,
      observedIds: s.observedIds,
    };
  }
  return {
    $typeName: "deeptrace.trace.v1.Trace",
    traceId: traceIdFor(rootSpan.spanId),
    rootSpanId: rootSpan.spanId,
    rootService: rootSpan.service,
    rootEndpoint: rootSpan.endpoint,
    startTimeNs: startNs,
    endTimeNs: endNs,
    durationNs: endNs - startNs,
    services: [...services].sort(),
    endpoints: [...endpoints].sort(),
    spanCount: ids.length,
    error,
    completeness: {
      $typeName: "deeptrace.trace.v1.Completeness",
      rootPresent: !orphanRoot,
      orphanCount: orphanRoot ? 1 : 0,
      lateSpanCount: late,
      skewApplied,
    },
    spans: traceSpans,
    windowId: options.windowId ?? "",
  };
}
