import type { Trace, TraceSpan } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import type { RunningService } from "@deeptrace/shared/service/service-process";
import { groundTruthId } from "@deeptrace/shared/spans/observed-ids";
import type { GroundTruth } from "@deeptrace/trace-assembler/scoring/ground-truth";
import { score } from "@deeptrace/trace-assembler/scoring/score";
import type { DemoEnvironment } from "./environment.js";

export interface ReportInput {
  traces: Trace[];
  /** Ends of the windows the poller published, ascending. */
  windowEnds: bigint[];
  runId: string;
  agent: string;
  env: DemoEnvironment;
  manager: RunningService;
  poller: RunningService;
  assembler: RunningService | undefined;
  adminTokenFile: string;
  viewerTokenFile: string;
}

const write = (text: string) => process.stdout.write(`${text}\n`);
const ms = (ns: bigint) => `${(Number(ns) / 1e6).toFixed(2)} ms`;

/** Prints the assembled traces, their accuracy and grpcurl commands to explore them. */
export function printReport(r: ReportInput): void {
  const spans = r.traces.flatMap((t) => t.spans);
  write(
    `\n== ${r.traces.length} traces, ${spans.length} spans, in Elasticsearch (index prefix demo-${r.runId})`,
  );
  const crossing = r.traces.filter((t) => crossesWindow(t, r.windowEnds)).length;
  write(
    `   from ${r.windowEnds.length} windows; ${crossing} traces have spans in more than one window`,
  );
  const example = [...r.traces].sort(
    (a, b) => b.spans.length - a.spans.length || a.traceId.localeCompare(b.traceId),
  )[0];
  if (example) {
    write(
      `\nthe largest trace, ${example.traceId} (${example.spans.length} spans, ${ms(example.durationNs)}):`,
    );
    printTree(example.spans);
  }

  // Ground truth: the X-Request-Id each request carried (used for scoring only).
  const truth: GroundTruth = { level: "trace", requestOf: new Map() };
  for (const span of spans) {
    const id = groundTruthId(span.observedIds);
    if (id !== undefined) truth.requestOf.set(span.spanId, id);
  }
  const report = score(r.traces, truth);
  write("\n== accuracy against the propagated X-Request-Id (ground truth, not used for linking)");
  write(
    `   end-to-end: ${(report.e2e.accuracy * 100).toFixed(2)}% of ${report.e2e.requests} requests have every egress call under the right parent`,
  );
  write(
    `   intra links: precision ${(report.intra.precision * 100).toFixed(2)}%, recall ${(report.intra.recall * 100).toFixed(2)}%`,
  );
  write(
    `   cross links: precision ${(report.cross.precision * 100).toFixed(2)}%, recall ${(report.cross.recall * 100).toFixed(2)}%`,
  );
  write(`DEMO_E2E_ACCURACY=${report.e2e.accuracy.toFixed(4)}`);

  const g = r.env.grpcurl;
  const viewer = `-H "authorization: Bearer $(cat ${r.viewerTokenFile})"`;
  const admin = `-H "authorization: Bearer $(cat ${r.adminTokenFile})"`;
  write("\n== explore with grpcurl (reflection, no proto files needed)");
  write(`${g} -plaintext ${r.assembler?.grpc} list`);
  write(
    `${g} -plaintext ${viewer} -d '{"page_size": 3}' ${r.assembler?.grpc} deeptrace.trace.v1.TraceAssemblerService/SearchTraces`,
  );
  if (example)
    write(
      `${g} -plaintext ${viewer} -d '{"trace_id": "${example.traceId}"}' ${r.assembler?.grpc} deeptrace.trace.v1.TraceAssemblerService/GetTrace`,
    );
  write(
    `${g} -plaintext ${viewer} ${r.assembler?.grpc} deeptrace.trace.v1.TraceAssemblerService/GetServiceGraph`,
  );
  write(
    `${g} -plaintext ${viewer} ${r.poller.grpc} deeptrace.poller.v1.SpanPollerService/GetStatus`,
  );
  write(
    `${g} -plaintext ${admin} ${r.manager.grpc} deeptrace.agent.v1.AgentManagerService/ListAgents`,
  );
}

/** True when the trace's spans start on both sides of a window boundary. */
function crossesWindow(trace: Trace, windowEnds: bigint[]): boolean {
  const starts = trace.spans.map((s) => s.startTimeNs);
  if (starts.length === 0) return false;
  let first = starts[0] as bigint;
  let last = first;
  for (const t of starts) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return windowEnds.some((end) => first < end && end <= last);
}

function printTree(spans: TraceSpan[]): void {
  const children = new Map<string, TraceSpan[]>();
  for (const s of spans) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  let start = spans[0]?.startTimeNs ?? 0n;
  for (const s of spans) if (s.startTimeNs < start) start = s.startTimeNs;
  const visit = (parent: string, depth: number) => {
    const level = [...(children.get(parent) ?? [])].sort((a, b) =>
      a.startTimeNs < b.startTimeNs ? -1 : 1,
    );
    for (const s of level) {
      const kind = s.direction === 1 ? "in " : "out";
      write(
        `   ${"  ".repeat(depth)}${kind} ${s.service} ${s.endpoint}  +${ms(s.startTimeNs - start)} ${ms(s.durationNs)}`,
      );
      visit(s.spanId, depth + 1);
    }
  };
  visit("", 0);
}
