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
import type { Direction, ObservedId } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
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

/** `spanIds`: the span id of each model index. */
export function assembleTraces(
  model: SpanModel,
  links: Links,
  spanIds: readonly string[],
  options: AssemblyOptions,
): AssemblyResult {
  const { n, row, table } = model;
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
  const seen = seenStrings(table.strings);
  for (let t = 0; t < roots.length; t++) {
    const root = roots[t] as number;
    const rootStart = table.startNs[row[root] as number] as bigint;
    const w = options.window;
    if (w && (rootStart < w.startNs || rootStart >= w.endNs)) continue;
    const spans = members[t] as Int32Array;
    const rootIsIngress = model.direction[root] === INGRESS;
    const orphanRoot = !rootIsIngress || callerSeen[model.connection[root] as number] === 1;
    traces.push(
      traceDocument(model, links, parent, spanIds, spans, root, orphanRoot, options, seen, t),
    );
    emitted.push(spans);
  }
  return { traces, members: emitted, tracesTotal: roots.length, cyclesBroken };
}

/**
 * Per table string id, the last trace (index) that listed it among its services or its
 * endpoints: each trace's distinct values without a Set per trace.
 */
interface SeenStrings {
  /** One id per distinct string (the table interns them; this does not rely on it). */
  canonical: Int32Array;
  service: Int32Array;
  endpoint: Int32Array;
}

function seenStrings(strings: readonly string[]): SeenStrings {
  const first = new Map<string, number>();
  const canonical = Int32Array.from(strings, (value, id) => {
    const known = first.get(value);
    if (known !== undefined) return known;
    first.set(value, id);
    return id;
  });
  return {
    canonical,
    service: new Int32Array(strings.length).fill(-1),
    endpoint: new Int32Array(strings.length).fill(-1),
  };
}

function traceDocument(
  model: SpanModel,
  links: Links,
  parent: Int32Array,
  spanIds: readonly string[],
  ids: Int32Array,
  root: number,
  orphanRoot: boolean,
  options: AssemblyOptions,
  seen: SeenStrings,
  traceIndex: number,
): Trace {
  const { row, table } = model;
  const { strings } = table;
  const rootRow = row[root] as number;
  let startNs = table.startNs[rootRow] as bigint;
  let endNs = table.endNs[rootRow] as bigint;
  const services: string[] = [];
  const endpoints: string[] = [];
  let error = false;
  let late = 0;
  let skewApplied = false;
  const traceSpans: TraceSpan[] = new Array(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const i = ids[k] as number;
    const r = row[i] as number;
    const id = spanIds[i] as string;
    const spanStart = table.startNs[r] as bigint;
    const spanEnd = table.endNs[r] as bigint;
    const service = strings[table.service[r] as number] as string;
    const endpoint = strings[table.endpoint[r] as number] as string;
    const serviceId = seen.canonical[table.service[r] as number] as number;
    const endpointId = seen.canonical[table.endpoint[r] as number] as number;
    const spanError = table.error[r] === 1;
    if (spanStart < startNs) startNs = spanStart;
    if (spanEnd > endNs) endNs = spanEnd;
    if (seen.service[serviceId] !== traceIndex) {
      seen.service[serviceId] = traceIndex;
      services.push(service);
    }
    if (seen.endpoint[endpointId] !== traceIndex) {
      seen.endpoint[endpointId] = traceIndex;
      endpoints.push(endpoint);
    }
    if (spanError) error = true;
    if ((table.clockOffsetNs[r] as bigint) !== 0n) skewApplied = true;
    if (options.lateSpanIds?.has(id)) late++;
    const p = parent[i] as number;
    traceSpans[k] = {
      $typeName: "deeptrace.trace.v1.TraceSpan",
      spanId: id,
      parentSpanId: p >= 0 ? (spanIds[p] as string) : "",
      linkKind: p >= 0 ? (KIND[links.kind[i] as number] ?? LinkKind.UNSPECIFIED) : LinkKind.ROOT,
      linkScore: p >= 0 ? (links.score[i] as number) : 0,
      agent: strings[table.agent[r] as number] as string,
      service,
      endpoint,
      direction: table.direction[r] as Direction,
      protocol: strings[table.protocol[r] as number] as string,
      startTimeNs: spanStart,
      endTimeNs: spanEnd,
      durationNs: spanEnd - spanStart,
      rawStartNs: table.rawStartNs[r] as bigint,
      rawEndNs: table.rawEndNs[r] as bigint,
      status: strings[table.status[r] as number] as string,
      error: spanError,
      tgid: table.tgid[r] as number,
      threadId: table.threadId[r] as number,
      observedIds: table.observedIds[r] as ObservedId[],
    };
  }
  const rootId = spanIds[root] as string;
  return {
    $typeName: "deeptrace.trace.v1.Trace",
    traceId: traceIdFor(rootId),
    rootSpanId: rootId,
    rootService: strings[table.service[rootRow] as number] as string,
    rootEndpoint: strings[table.endpoint[rootRow] as number] as string,
    startTimeNs: startNs,
    endTimeNs: endNs,
    durationNs: endNs - startNs,
    services: services.sort(),
    endpoints: endpoints.sort(),
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
