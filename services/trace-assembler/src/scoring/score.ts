/**
 * Honest accuracy of reconstructed links against ground truth.
 *
 * A span is scored only when it has ground truth. For each such span we decide whether
 * it is expected to have a parent in the data:
 *   parent-level truth  its true parent is not null
 *   trace-level truth   an Egress span expects an Ingress span of the same process in the
 *                       same request; an Ingress span expects an Egress span of another
 *                       process in the same request
 * and whether its predicted parent is right:
 *   parent-level truth  the predicted parent is the true parent
 *   trace-level truth   the predicted parent belongs to the same request (this cannot
 *                       tell two calls of one request apart, so it is an upper bound
 *                       where a request calls several services)
 * Intra links are the parents of Egress spans, cross links the parents of Ingress spans.
 *   precision = right predicted links / predicted links
 *   recall    = right predicted links / expected links        (a missing link is wrong)
 * End-to-end accuracy (the upstream `e2e_acc`): the share of requests whose every Egress
 * span that expects a parent got the right one; `e2eAllLinks` also requires every
 * Ingress span's caller to be right.
 */
import { Direction } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { Trace } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import type { GroundTruth } from "./ground-truth.js";

/** What scoring needs to know about one span and its predicted parent. */
export interface LinkRecord {
  spanId: string;
  /** "" when the span has no parent. */
  parentSpanId: string;
  direction: Direction;
  service: string;
  /** Process identity (agent and tgid). */
  process: string;
}

export interface LinkMetrics {
  expected: number;
  predicted: number;
  correct: number;
  precision: number;
  recall: number;
}

export interface EndToEnd {
  requests: number;
  correct: number;
  accuracy: number;
}

export interface AccuracyReport {
  truth: GroundTruth["level"];
  spansScored: number;
  spansWithoutTruth: number;
  intra: LinkMetrics;
  cross: LinkMetrics;
  /** By the scored span's service (the child of the link). */
  perService: Record<string, { intra: LinkMetrics; cross: LinkMetrics }>;
  e2e: EndToEnd;
  e2eAllLinks: EndToEnd;
}

export function linkRecordsOf(traces: readonly Trace[]): LinkRecord[] {
  const out: LinkRecord[] = [];
  for (const t of traces) {
    for (const s of t.spans) {
      out.push({
        spanId: s.spanId,
        parentSpanId: s.parentSpanId,
        direction: s.direction,
        service: s.service,
        process: `${s.agent}\0${s.tgid}`,
      });
    }
  }
  return out;
}

interface Counter {
  expected: number;
  predicted: number;
  correct: number;
}

const counter = (): Counter => ({ expected: 0, predicted: 0, correct: 0 });
const metrics = (c: Counter): LinkMetrics => ({
  ...c,
  precision: c.predicted === 0 ? 0 : c.correct / c.predicted,
  recall: c.expected === 0 ? 0 : c.correct / c.expected,
});

/** Score traces (or link records) against ground truth. */
export function score(
  input: readonly Trace[] | readonly LinkRecord[],
  truth: GroundTruth,
): AccuracyReport {
  const records: readonly LinkRecord[] =
    input.length > 0 && "traceId" in (input[0] as object)
      ? linkRecordsOf(input as Trace[])
      : (input as LinkRecord[]);
  const byId = new Map<string, LinkRecord>();
  for (const r of records) byId.set(r.spanId, r);

  // Trace-level expectations: which (request, process, direction) combinations exist.
  const present = new Set<string>();
  const processesOfRequest = new Map<string, Set<string>>();
  if (truth.level === "trace") {
    for (const r of records) {
      const req = truth.requestOf.get(r.spanId);
      if (req === undefined) continue;
      present.add(`${req}\0${r.process}\0${r.direction}`);
      if (r.direction === Direction.EGRESS) {
        let set = processesOfRequest.get(req);
        if (!set) {
          set = new Set();
          processesOfRequest.set(req, set);
        }
        set.add(r.process);
      }
    }
  }
  const expectsParent = (r: LinkRecord, req: string): boolean => {
    if (truth.parentOf) return (truth.parentOf.get(r.spanId) ?? "") !== "";
    if (r.direction === Direction.EGRESS)
      return present.has(`${req}\0${r.process}\0${Direction.INGRESS}`);
    const callers = processesOfRequest.get(req);
    if (!callers) return false;
    for (const p of callers) if (p !== r.process) return true;
    return false;
  };
  const isRight = (r: LinkRecord, req: string): boolean => {
    if (r.parentSpanId === "") return false;
    if (truth.parentOf) return truth.parentOf.get(r.spanId) === r.parentSpanId;
    return truth.requestOf.get(r.parentSpanId) === req;
  };

  const intra = counter();
  const cross = counter();
  const perService = new Map<string, { intra: Counter; cross: Counter }>();
  const requestOk = new Map<string, { e2e: boolean; all: boolean; hasEgress: boolean }>();
  let scored = 0;
  let withoutTruth = 0;
  for (const r of records) {
    const req = truth.requestOf.get(r.spanId);
    if (req === undefined) {
      withoutTruth++;
      continue;
    }
    scored++;
    const egress = r.direction === Direction.EGRESS;
    let svc = perService.get(r.service);
    if (!svc) {
      svc = { intra: counter(), cross: counter() };
      perService.set(r.service, svc);
    }
    const targets = egress ? [intra, svc.intra] : [cross, svc.cross];
    const expected = expectsParent(r, req);
    const predicted = r.parentSpanId !== "";
    const right = predicted && isRight(r, req);
    for (const t of targets) {
      if (expected) t.expected++;
      if (predicted) t.predicted++;
      if (right) t.correct++;
    }
    if (!expected) continue;
    let state = requestOk.get(req);
    if (!state) {
      state = { e2e: true, all: true, hasEgress: false };
      requestOk.set(req, state);
    }
    if (!right) {
      state.all = false;
      if (egress) state.e2e = false;
    }
    if (egress) state.hasEgress = true;
  }
  const keys = [...requestOk.keys()].sort();
  let e2eRequests = 0;
  let e2eCorrect = 0;
  let allCorrect = 0;
  for (const k of keys) {
    const s = requestOk.get(k) as { e2e: boolean; all: boolean; hasEgress: boolean };
    if (s.all) allCorrect++;
    if (!s.hasEgress) continue;
    e2eRequests++;
    if (s.e2e) e2eCorrect++;
  }
  const services: AccuracyReport["perService"] = {};
  for (const name of [...perService.keys()].sort()) {
    const s = perService.get(name) as { intra: Counter; cross: Counter };
    services[name] = { intra: metrics(s.intra), cross: metrics(s.cross) };
  }
  return {
    truth: truth.level,
    spansScored: scored,
    spansWithoutTruth: withoutTruth,
    intra: metrics(intra),
    cross: metrics(cross),
    perService: services,
    e2e: {
      requests: e2eRequests,
      correct: e2eCorrect,
      accuracy: e2eRequests === 0 ? 0 : e2eCorrect / e2eRequests,
    },
    e2eAllLinks: {
      requests: keys.length,
      correct: allCorrect,
      accuracy: keys.length === 0 ? 0 : allCorrect / keys.length,
    },
  };
}
