import type { CpuUse } from "./cpu-meter.js";
import { withSection } from "./doc-section.js";

/** The fraction of the ceiling the pipeline should reach. */
export const TARGET = 0.7;

/** The raw bulk rate of the same documents with one number of requests in flight. */
export interface CeilingRun {
  concurrency: number;
  seconds: number;
  retries: number;
  spansPerSecond: number;
  documentsPerSecond: number;
  cpu: CpuUse;
}

export interface PipelineRun {
  /** Every process count is measured once per round, the rounds one after the other. */
  round: number;
  instances: number;
  /** Warm-up windows each instance acknowledged before the clock started. */
  warmupWindows: number[];
  seconds: number;
  /** The raw bulk runs measured right before this run; the best is its ceiling. */
  ceilings: CeilingRun[];
  ceilingSpansPerSecond: number;
  spansPerSecond: number;
  windowSpansPerSecond: number;
  fractionOfCeiling: number;
  tracesStored: number;
  redeliveries: number;
  /** Per stage (engine, check, write, total): seconds summed over every window and instance. */
  stageSeconds: Record<string, number>;
  cpu: CpuUse;
}

export interface AssemblerBenchResults {
  command: string;
  date: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  code: { commit: string; engineUncommitted: boolean };
  workload: Record<string, number | string>;
  service: Record<string, number>;
  engineInBenchProcess: { seconds: number; spansPerSecond: number };
  /** The untimed write of the documents that warms Elasticsearch up before the first ceiling. */
  elasticsearchWarmupSeconds: number;
  pipeline: PipelineRun[];
  target: number;
}

const INDEX_ROW = "| trace-assembler pipeline";

/**
 * docs/benchmarks.md with this run's results: the assembler's section replaced (see
 * doc-section.ts) and the headline of the index row updated.
 */
export function withAssemblerSection(document: string, results: AssemblerBenchResults): string {
  const text = withSection(document, "assembler", assemblerSection(results));
  const row = `${INDEX_ROW} (NATS → engine → Elasticsearch) | \`npm run bench:assembler\` | ${headline(results)} | [below](#trace-assembler-pipeline) |`;
  return text
    .split("\n")
    .map((line) => (line.startsWith(INDEX_ROW) ? row : line))
    .join("\n");
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const n = (x: number) => Math.round(x).toLocaleString("en-US");
const processes = (count: number) => `${count} process${count > 1 ? "es" : ""}`;

/** Per process count, the median share of the ceiling over the rounds. */
function medianShares(r: AssemblerBenchResults): Array<{ instances: number; share: number }> {
  const counts = [...new Set(r.pipeline.map((p) => p.instances))];
  return counts.map((instances) => {
    const shares = r.pipeline
      .filter((p) => p.instances === instances)
      .map((p) => p.fractionOfCeiling)
      .sort((a, b) => a - b);
    const mid = Math.floor(shares.length / 2);
    const share =
      shares.length % 2 === 1
        ? (shares[mid] as number)
        : ((shares[mid - 1] as number) + (shares[mid] as number)) / 2;
    return { instances, share };
  });
}

/**
 * The share of the ceiling this run could have reached at best if it had had every core of
 * the machine to itself and never waited: the ceiling's time over the CPU time Elasticsearch
 * and the assemblers used in the run, spread over all cores.
 */
function cpuBoundShare(p: PipelineRun, cores: number): number {
  return ceilingSeconds(p) / ((p.cpu.elasticsearchSeconds + p.cpu.assemblerSeconds) / cores);
}

/**
 * The assembler CPU seconds this run could have used and still reached the target, with
 * Elasticsearch's CPU as it was in the run: the cores' time at the target's rate less what
 * Elasticsearch took of it. Negative when Elasticsearch alone needed more than that time.
 */
function assemblerBudget(p: PipelineRun, cores: number, target: number): number {
  return (cores * ceilingSeconds(p)) / target - p.cpu.elasticsearchSeconds;
}

/** The run's ceiling: the time of its fastest raw bulk run. */
function ceilingSeconds(p: PipelineRun): number {
  return Math.min(...p.ceilings.map((c) => c.seconds));
}

function headline(r: AssemblerBenchResults): string {
  const medians = medianShares(r);
  const shares = medians.map((m) => `${processes(m.instances)} ${pct(m.share)}`);
  const met = medians.every((m) => m.share >= r.target);
  return `${shares.join(", ")} of the raw bulk rate, median of ${Math.max(...r.pipeline.map((p) => p.round))} rounds (target ${pct(r.target)}: ${met ? "met" : "MISSED"}; load average ${r.machine.loadAverageAtStart[0]?.toFixed(1)} at start)`;
}

function assemblerSection(r: AssemblerBenchResults): string {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  const lines = [
    "## Trace-assembler pipeline",
    "",
    `Command: \`${r.command}\` (script: \`services/trace-assembler/src/bench/assembler-bench.ts\`, raw results: \`docs/bench/assembler.json\`).`,
    "",
    `Measured ${r.date} on this machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${(r.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${r.machine.node}; Elasticsearch and NATS on the same machine. Load average ${load(r.machine.loadAverageAtStart)} at the start and ${load(r.machine.loadAverageAtEnd)} at the end: other engineers' builds, tests and benchmarks shared the two cores, so every figure here is noisy and lower than on an idle machine.`,
    "",
    `Code: commit ${r.code.commit}${r.code.engineUncommitted ? ", with uncommitted engine changes in the working tree" : ""}. Service settings (the defaults): ${Object.entries(
      r.service,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    "",
    `Workload: ${n(Number(r.workload.requests))} generated requests at ${r.workload.rate}/s, ${n(Number(r.workload.spans))} spans, ${r.workload.windows} windows of ${r.workload.windowMs} ms with ${r.workload.marginMs} ms margins (${n(Number(r.workload.windowSpans))} spans with margins, ${(Number(r.workload.windowBytes) / 2 ** 20).toFixed(0)} MiB of window messages), ${n(Number(r.workload.documents))} documents (traces, spans, graph), ${n(Number(r.workload.traces))} traces. Spans/s count distinct spans. For context, decoding every window message and assembling it in the benchmark process takes ${r.engineInBenchProcess.seconds.toFixed(1)} s (${n(r.engineInBenchProcess.spansPerSecond)} spans/s).`,
    "",
    `Sustained rate: before the clock starts, the instances of a run work through ${r.workload.warmupWindows} warm-up windows of another generated workload (their own span, trace and window ids, into the same indices), so the figures are the steady state and not a fresh worker's first windows, which cost two to six times a warm one's while V8 compiles the engine. Warm-up windows per instance: ${r.pipeline.map((p) => `round ${p.round}, ${processes(p.instances)}: ${p.warmupWindows.join(" + ")}`).join("; ")}. CPU seconds and stage times count the timed windows only.`,
    "",
    `Each pipeline run gets its own ceiling, measured right before it (after Elasticsearch first wrote the documents once, untimed, in ${r.elasticsearchWarmupSeconds.toFixed(1)} s, so that no ceiling includes its JIT warming up): the same documents written straight to fresh indices with the service's bulk settings (documents and bytes per request), without NATS and without the engine, with the bulk requests in flight of one instance and of two; the faster is the ceiling. "CPU-bound limit" is the share the run could have reached at best with every core of the machine to itself and no waiting: the ceiling's time over the CPU seconds Elasticsearch and the assemblers used in the run, spread over the cores. "Assembler CPU budget" is what the assemblers could have used and still reached the target: the run's cores over the ceiling's time divided by the target, less the CPU Elasticsearch used in the run.`,
    "",
    "| Round | Processes | Ceiling: raw bulk (s, spans/s, in flight) | Pipeline (s) | Pipeline spans/s | Share of ceiling | Elasticsearch CPU s: ceiling / pipeline | Assembler CPU s | Machine busy | CPU-bound limit | Assembler CPU budget for the target |",
    "| ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ...r.pipeline.map((p) => {
      const best = p.ceilings.reduce((a, b) => (b.spansPerSecond > a.spansPerSecond ? b : a));
      return `| ${p.round} | ${p.instances} | ${best.seconds.toFixed(1)} s, ${n(best.spansPerSecond)}, ${best.concurrency} (other: ${p.ceilings
        .filter((c) => c !== best)
        .map((c) => `${c.seconds.toFixed(1)} s with ${c.concurrency}`)
        .join(
          ", ",
        )}) | ${p.seconds.toFixed(1)} | ${n(p.spansPerSecond)} | ${pct(p.fractionOfCeiling)} | ${best.cpu.elasticsearchSeconds.toFixed(1)} / ${p.cpu.elasticsearchSeconds.toFixed(1)} | ${p.cpu.assemblerSeconds.toFixed(1)} | ${pct(p.cpu.machineBusy)} | ${pct(cpuBoundShare(p, r.machine.cpus))} | ${assemblerBudget(p, r.machine.cpus, r.target).toFixed(1)} s |`;
    }),
    "",
    'Wall time per stage from the service\'s processing histogram, summed over all windows and instances (windows in hand overlap, so the columns add up to more than the run took; "engine" includes waiting for the worker, "write" includes waiting for a bulk request slot):',
    "",
    "| Round | Processes | engine (decode + assembly on the worker) | revision check | write (bulk + marker) | total per window, summed | redeliveries |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...r.pipeline.map(
      (p) =>
        `| ${p.round} | ${p.instances} | ${(p.stageSeconds.engine ?? 0).toFixed(1)} | ${(p.stageSeconds.check ?? 0).toFixed(1)} | ${(p.stageSeconds.write ?? 0).toFixed(1)} | ${(p.stageSeconds.total ?? 0).toFixed(1)} | ${p.redeliveries} |`,
    ),
    "",
    `Target: at least ${pct(r.target)} of the ceiling (median over the rounds).`,
    "",
    ...medianShares(r).map(({ instances, share }) =>
      share >= r.target
        ? `- ${processes(instances)}: met (${pct(share)}).`
        : `- ${processes(instances)}: MISSED by ${(100 * (r.target - share)).toFixed(0)} percentage points (${pct(share)}).`,
    ),
    "",
    "A pipeline run starts the assembler processes on a fresh stream, publishes every window at once and measures from the first publish to the last acknowledgement; the trace index must then hold exactly the traces the engine emits for the workload. CPU seconds: Elasticsearch's from its node stats, the assemblers' from their `process_cpu_seconds_total`, the machine's from `/proc/stat` (everything running, not only this benchmark).",
    "",
  ];
  return lines.join("\n");
}
