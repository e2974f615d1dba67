import { describe, expect, it } from "vitest";
import {
  type AssemblerBenchResults,
  type PipelineRun,
  withAssemblerSection,
} from "../../src/bench/assembler-report.js";

const cpu = { elasticsearchSeconds: 10, assemblerSeconds: 10, machineBusy: 1 };
const ceiling = {
  concurrency: 2,
  seconds: 10,
  retries: 0,
  spansPerSecond: 1000,
  documentsPerSecond: 1000,
  cpu,
};
function run(round: number, instances: number, share: number): PipelineRun {
  return {
    round,
    instances,
    warmupWindows: Array.from({ length: instances }, (_, i) => 5 + i),
    seconds: 10 / share,
    ceilings: [ceiling, { ...ceiling, concurrency: 4, seconds: 12 }],
    ceilingSpansPerSecond: 1000,
    spansPerSecond: 1000 * share,
    windowSpansPerSecond: 1300 * share,
    fractionOfCeiling: share,
    tracesStored: 10,
    redeliveries: 0,
    stageSeconds: { engine: 1, check: 0.1, write: 2, total: 3.1 },
    cpu,
  };
}
const results: AssemblerBenchResults = {
  command: "npm run bench:assembler",
  date: "2026-01-01T00:00:00.000Z",
  machine: {
    cpus: 2,
    cpuModel: "test",
    memoryBytes: 2 ** 34,
    node: "v20",
    loadAverageAtStart: [3, 2, 1],
    loadAverageAtEnd: [4, 3, 2],
  },
  code: { commit: "abc", engineUncommitted: false },
  workload: {
    requests: 10,
    rate: 1,
    spans: 100,
    windows: 2,
    windowBytes: 1,
    documents: 5,
    traces: 10,
    warmupWindows: 11,
  },
  service: { concurrency: 2 },
  engineInBenchProcess: { seconds: 1, spansPerSecond: 100 },
  elasticsearchWarmupSeconds: 2,
  pipeline: [run(1, 1, 0.5), run(1, 2, 0.8), run(2, 1, 0.7), run(2, 2, 0.9)],
  target: 0.7,
};
const INDEX = [
  "# Benchmarks",
  "",
  "| what | command | headline | details |",
  "|---|---|---|---|",
  "| trace-assembler pipeline (NATS → engine → Elasticsearch) | `npm run bench:assembler` | old | [old](old.md) |",
  "| span-poller | `npm run bench:poller` | keep | keep |",
  "",
  "## Engine",
  "",
  "engine text",
].join("\n");

describe("the assembler section of docs/benchmarks.md", () => {
  it("is appended once, replaced on the next run, and leaves the rest of the file alone", () => {
    const first = withAssemblerSection(INDEX, results);
    expect(first).toContain("## Engine\n\nengine text\n");
    expect(first).toContain("| span-poller | `npm run bench:poller` | keep | keep |");
    expect(first).toContain(
      "| trace-assembler pipeline (NATS → engine → Elasticsearch) | `npm run bench:assembler` | 1 process 60%, 2 processes 85% of the raw bulk rate, median of 2 rounds (target 70%: MISSED; load average 3.0 at start) | [below](#trace-assembler-pipeline) |",
    );
    expect(first).toContain("- 1 process: MISSED by 10 percentage points (60%).");
    expect(first).toContain("- 2 processes: met (85%).");
    // CPU-bound limit: 10 s ceiling over (10 + 10) CPU seconds on 2 cores.
    // and the assembler CPU budget: 2 cores x 10 s / 0.7, less Elasticsearch's 10 s.
    expect(first).toContain("| 100% | 18.6 s |\n");
    expect(first).toContain(
      "Warm-up windows per instance: round 1, 1 process: 5; round 1, 2 processes: 5 + 6; round 2, 1 process: 5; round 2, 2 processes: 5 + 6.",
    );
    const again = withAssemblerSection(first, { ...results, date: "2026-02-02T00:00:00.000Z" });
    expect(again.split("## Trace-assembler pipeline")).toHaveLength(2);
    expect(again).toContain("Measured 2026-02-02T00:00:00.000Z");
    expect(again).not.toContain("2026-01-01");
  });
});
