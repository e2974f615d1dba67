/**
 * Assembler benchmark: sustained spans/s through NATS -> engine -> Elasticsearch with one and
 * with two assembler processes, against the raw Elasticsearch bulk rate for the same
 * documents (the ceiling), on this machine's real servers.
 *
 *   npm run bench:assembler                 # writes docs/bench/assembler.json and the assembler section of docs/benchmarks.md
 *   node services/trace-assembler/dist/bench/assembler-bench.js --quick   # small smoke run, writes nothing
 *   options: --requests N, --rounds N (default 2: every process count measured twice), --instances 1,2
 *
 * Elasticsearch and NATS come from ES_URL / NATS_URL, else from the state files of
 * scripts/infra (start them with scripts/infra/start-all.sh). Each run uses its own stream,
 * consumer and indices and removes them afterwards. Every number written is measured here.
 *
 * A run starts the assembler processes on a fresh stream, publishes every window of a
 * generated workload at once and measures from the first publish to the last
 * acknowledgement; the trace index must then hold exactly the traces the engine emits.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { toBinary } from "@bufbuild/protobuf";
import { loadConfig } from "@deeptrace/shared/config/load-config";
import { encodeEntries } from "@deeptrace/shared/elastic/bulk-entries";
import { type BulkDocument, BulkWriter } from "@deeptrace/shared/elastic/bulk-writer";
import { ensureTraceIndices, traceIndices } from "@deeptrace/shared/elastic/index-templates";
import { type SpanWindow, SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { Client } from "@elastic/elasticsearch";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { assembleWindow, decodeWindow } from "../windows/window-processor.js";
import {
  type AssemblerBenchResults,
  type CeilingRun,
  type PipelineRun,
  TARGET,
  withAssemblerSection,
} from "./assembler-report.js";
import { processCpuSeconds, startCpuReading } from "./cpu-meter.js";
import { cutWindows, workloadSpans } from "./workload-windows.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../../../..");
const SERVICE_ENTRY = join(REPO, "services/trace-assembler/dist/main.js");
/**
 * The service's settings as its processes here get them (defaults, and DEEPTRACE__* overrides
 * in this environment, which the spawned assemblers inherit): the ceiling uses the same bulk
 * settings.
 */
const SERVICE = loadConfig({ env: process.env }).trace_assembler;
/** Index prefix of the documents assembled in this process (renamed for each ceiling run). */
const ASSEMBLED_PREFIX = "dt-bench-assembled";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    requests: { type: "string" },
    rate: { type: "string", default: "250" },
    "window-ms": { type: "string", default: "600" },
    "margin-ms": { type: "string", default: "100" },
    seed: { type: "string", default: "assembler-bench" },
    instances: { type: "string", default: "1,2" },
    rounds: { type: "string" },
  },
});

function serverUrl(env: string, file: string, key: string): string {
  const given = process.env[env];
  if (given) return given;
  const runDir = join(process.env.DEEPTRACE_CACHE || join(homedir(), ".cache", "deeptrace"), "run");
  try {
    const line = readFileSync(join(runDir, file), "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${key}=`));
    if (line) return line.slice(key.length + 1);
  } catch {
    // reported below
  }
  throw new Error(
    `${env} is not set and ${join(runDir, file)} has no ${key}: start the servers with scripts/infra/start-all.sh or set ${env}`,
  );
}

/** Requests of the warm-up workload: about ten 600 ms windows per instance of two. */
const WARMUP_REQUESTS = args.quick ? 300 : 3_000;
const esUrl = serverUrl("ES_URL", "elasticsearch.env", "ES_URL");
const natsUrl = serverUrl("NATS_URL", "nats.env", "NATS_URL");
const es = new Client({ node: esUrl });

function seconds(fromNs: bigint): number {
  return Number(process.hrtime.bigint() - fromNs) / 1e9;
}

function log(message: string): void {
  process.stderr.write(`[bench:assembler] ${message}\n`);
}

async function dropIndices(prefix: string): Promise<void> {
  const indices = Object.values(traceIndices(prefix));
  await es.indices.delete({ index: indices, ignore_unavailable: true });
  for (const name of indices) await es.indices.deleteIndexTemplate({ name }, { ignore: [404] });
}

/** The raw bulk rate: the same documents the assembler writes, written straight to fresh indices. */
async function ceiling(documents: BulkDocument[], prefix: string, concurrency: number) {
  await ensureTraceIndices(es, prefix);
  const indices = traceIndices(prefix);
  const writer = new BulkWriter(es, {
    deadLetterIndex: indices.deadLetters,
    maxDocuments: SERVICE.bulk_documents,
    maxBytes: SERVICE.bulk_max_bytes,
    concurrency,
    backoff: { initialMs: 200, maxMs: 10_000 },
    deadlineMs: 600_000,
  });
  const from = traceIndices(ASSEMBLED_PREFIX);
  const names = new Map(
    (Object.keys(from) as Array<keyof typeof from>).map((k) => [from[k], indices[k]]),
  );
  // Encoded before the clock starts, as the assembler's worker encodes them: the ceiling is
  // Elasticsearch's rate alone.
  const encoded = encodeEntries(
    documents.map((d) => ({ ...d, index: names.get(d.index) ?? d.index })),
  );
  const cpu = await startCpuReading(es);
  const started = process.hrtime.bigint();
  const result = await writer.write(encoded);
  const elapsed = seconds(started);
  const used = await cpu.end();
  if (result.written !== documents.length) {
    throw new Error(`ceiling: ${result.written} of ${documents.length} documents written`);
  }
  await dropIndices(prefix);
  return { seconds: elapsed, retries: result.retries, cpu: used };
}

interface Assembler {
  child: ChildProcess;
  /** host:port of /metrics. */
  http: string;
}

/** Seconds per stage summed over the windows an instance processed (its processing histogram). */
async function stageSeconds(assembler: Assembler): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${assembler.http}/metrics`)).text();
  const stages: Record<string, number> = {};
  for (const m of text.matchAll(
    /^deeptrace_assembler_processing_seconds_sum\{[^}]*stage="(\w+)"[^}]*\} ([\d.e+-]+)$/gm,
  )) {
    stages[m[1] as string] = Number(m[2]);
  }
  return stages;
}

/**
 * A window as the span-poller publishes it. Encoded before any clock starts: encoding is the
 * poller's work, and done during a run it took this process's CPU from the pipeline.
 */
interface WindowMessage {
  msgID: string;
  data: Uint8Array;
}

function windowMessage(w: SpanWindow): WindowMessage {
  return { msgID: `${w.windowId}:${w.revision}`, data: toBinary(SpanWindowSchema, w) };
}

/** Windows the instance has acknowledged so far. */
async function ackedWindows(assembler: Assembler): Promise<number> {
  const text = await (await fetch(`http://${assembler.http}/metrics`)).text();
  const m = /^deeptrace_assembler_windows_total\{[^}]*outcome="acked"[^}]*\} ([\d.e+-]+)$/m.exec(
    text,
  );
  return Number(m?.[1] ?? 0);
}

/** Waits until the consumer has every one of the first `published` messages acknowledged. */
async function drained(jsm: JetStreamManager, stream: string, consumer: string, published: number) {
  for (;;) {
    const info = await jsm.consumers.info(stream, consumer);
    if (
      info.num_pending === 0 &&
      info.num_ack_pending === 0 &&
      info.ack_floor.stream_seq >= published
    ) {
      return info;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startAssembler(config: string): Promise<Assembler> {
  const child = spawn(process.execPath, [SERVICE_ENTRY, "--config", config], {
    env: {
      ...process.env,
      DEEPTRACE__TRACE_ASSEMBLER__LISTEN: "127.0.0.1:0",
      DEEPTRACE__TRACE_ASSEMBLER__HTTP_LISTEN: "127.0.0.1:0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  let http = "";
  return new Promise((resolveStart, reject) => {
    let buffer = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        output.push(line);
        if (line.includes('"service started"')) http = (JSON.parse(line) as { http: string }).http;
        if (line.includes('"consuming windows"')) resolveStart({ child, http });
      }
    });
    child.stderr?.on("data", (chunk) => output.push(String(chunk)));
    child.once("exit", (code) =>
      reject(new Error(`assembler exited with ${code}:\n${output.slice(-20).join("\n")}`)),
    );
  });
}

async function stopAssembler(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

/** Publishes the windows as a backlog, runs `instances` assemblers until every window is acked. */
async function pipeline(
  nc: NatsConnection,
  windows: WindowMessage[],
  warmup: WindowMessage[],
  instances: number,
  expectedTraces: number,
  totalBytes: number,
): Promise<
  Omit<
    PipelineRun,
    | "round"
    | "ceilings"
    | "ceilingSpansPerSecond"
    | "spansPerSecond"
    | "windowSpansPerSecond"
    | "fractionOfCeiling"
  >
> {
  const assemblers: Assembler[] = [];
  const id = `bench-${instances}-${randomBytes(3).toString("hex")}`;
  const stream = `DT_${id.replace(/-/g, "_").toUpperCase()}`;
  const subject = `dt-bench.${id}.windows`;
  const consumer = `assembler-${id}`;
  const prefix = `dt-${id}`;
  const dir = mkdtempSync(join(tmpdir(), "deeptrace-bench-"));
  const config = join(dir, "assembler.toml");
  const streamBytes = Math.max(64 * 1024 * 1024, Math.ceil((totalBytes * 1.5) / 1048576) * 1048576);
  writeFileSync(
    config,
    `[log]\nlevel = "info"\n\n[elastic]\nurl = "${esUrl}"\nindex_prefix = "${prefix}"\n\n` +
      `[nats]\nurl = "${natsUrl}"\nstream = "${stream}"\nsubject = "${subject}"\n` +
      `dead_letter_subject = "dt-bench.${id}.dead"\nconsumer = "${consumer}"\n` +
      `stream_max_bytes = ${streamBytes}\n\n[trace_assembler]\n\n[auth]\nenabled = false\n`,
  );
  const children: ChildProcess[] = [];
  const jsm = await nc.jetstreamManager();
  try {
    // Every instance is consuming before the first window is published.
    const first = await startAssembler(config);
    children.push(first.child);
    const others = await Promise.all(
      Array.from({ length: instances - 1 }, () => startAssembler(config)),
    );
    children.push(...others.map((o) => o.child));
    assemblers.push(first, ...others);
    const js = nc.jetstream();
    // A few publishes in flight: all at once, their acks time out behind the payloads.
    const publish = async (batch: WindowMessage[]) => {
      let next = 0;
      const publisher = async () => {
        while (next < batch.length) {
          const w = batch[next++] as WindowMessage;
          await js.publish(subject, w.data, { msgID: w.msgID, timeout: 60_000 });
        }
      };
      await Promise.all(Array.from({ length: 4 }, publisher));
    };
    const storedTraces = async () => {
      await es.indices.refresh({ index: `${prefix}-traces` });
      return (await es.count({ index: `${prefix}-traces` })).count;
    };
    const stagesNow = async () => {
      const stages: Record<string, number> = {};
      for (const assembler of assemblers) {
        for (const [stage, sum] of Object.entries(await stageSeconds(assembler))) {
          stages[stage] = (stages[stage] ?? 0) + sum;
        }
      }
      return stages;
    };

    // Untimed: every instance compiles its hot code on the warm-up windows first.
    await publish(warmup);
    await drained(jsm, stream, consumer, warmup.length);
    const warmupWindows = await Promise.all(assemblers.map(ackedWindows));
    const tracesBefore = await storedTraces();
    const stagesBefore = await stagesNow();

    const cpuAtStart = await Promise.all(assemblers.map((a) => processCpuSeconds(a.http)));
    const cpu = await startCpuReading(es);
    const started = process.hrtime.bigint();
    await publish(windows);
    const info = await drained(jsm, stream, consumer, warmup.length + windows.length);
    const elapsed = seconds(started);
    const cpuAtEnd = await Promise.all(assemblers.map((a) => processCpuSeconds(a.http)));
    const used = await cpu.end(cpuAtEnd.reduce((sum, at, i) => sum + at - (cpuAtStart[i] ?? 0), 0));
    const stored = (await storedTraces()) - tracesBefore;
    if (stored !== expectedTraces) {
      throw new Error(
        `${instances} instance(s): ${stored} traces stored, ${expectedTraces} expected`,
      );
    }
    const stagesAfter = await stagesNow();
    return {
      instances,
      warmupWindows,
      seconds: elapsed,
      stageSeconds: Object.fromEntries(
        Object.entries(stagesAfter).map(([k, v]) => [k, v - (stagesBefore[k] ?? 0)]),
      ),
      cpu: used,
      tracesStored: stored,
      // Deliveries beyond one per window (num_redelivered counts only pending ones).
      redeliveries: info.delivered.consumer_seq - warmup.length - windows.length,
    };
  } finally {
    await Promise.all(children.map(stopAssembler));
    await jsm.streams.delete(stream).catch(() => false);
    await dropIndices(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

function engineState(): { commit: string; engineUncommitted: boolean } {
  const git = (...a: string[]) => execFileSync("git", a, { cwd: REPO, encoding: "utf8" }).trim();
  return {
    commit: git("rev-parse", "--short", "HEAD"),
    engineUncommitted:
      git("status", "--porcelain", "services/trace-assembler/src/engine").length > 0,
  };
}

async function main(): Promise<void> {
  const requests = Number(args.requests ?? (args.quick ? 600 : 6_000));
  const rate = Number(args.rate);
  const instancesList = (args.instances ?? "1,2").split(",").map(Number);
  const rounds = Number(args.rounds ?? (args.quick ? 1 : 2));
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a positive integer`);
  const loadAtStart = loadavg();
  log(`generating ${requests} requests at ${rate}/s`);
  const { spans } = workloadSpans({ requests, rate, seed: args.seed });
  const windows = cutWindows(
    spans,
    BigInt(args["window-ms"]) * 1_000_000n,
    BigInt(args["margin-ms"]) * 1_000_000n,
    `bench-${args.seed}`,
  );
  // Windows of another workload (own span, trace and window ids) that every instance works
  // through before the clock starts: the run measures the sustained rate, not a fresh worker's
  // first windows, which cost two to six times a warm one's while V8 compiles the engine.
  const warmupSpans = workloadSpans({
    requests: WARMUP_REQUESTS,
    rate,
    seed: `${args.seed}-warmup`,
  }).spans;
  for (const span of warmupSpans) span.spanId = `warmup-${span.spanId}`;
  const warmup = cutWindows(
    warmupSpans,
    BigInt(args["window-ms"]) * 1_000_000n,
    BigInt(args["margin-ms"]) * 1_000_000n,
    `warmup-${args.seed}`,
  );
  const windowSpans = windows.reduce((n, w) => n + w.spans.length, 0);
  const messages = windows.map(windowMessage);
  const warmupMessages = warmup.map(windowMessage);
  const sizes = messages.map((m) => m.data.length);
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  log(
    `${spans.length} spans in ${windows.length} windows (${windowSpans} with margins, largest ${Math.max(...sizes)} bytes)`,
  );

  // The documents the assembler writes, and for context the time this process takes to
  // decode the window messages and assemble them (what the service's worker does).
  const indices = traceIndices(ASSEMBLED_PREFIX);
  const engineStarted = process.hrtime.bigint();
  const assembled = messages.map((m) =>
    assembleWindow(decodeWindow(m.data), indices, {
      algorithm: "deeptrace",
      useObservedIds: false,
    }),
  );
  const engineSeconds = seconds(engineStarted);
  const documents = assembled.flatMap((a) => a.documents);
  const expectedTraces = assembled.reduce((n, a) => n + a.summary.traces, 0);
  log(
    `decode + engine + documents in this process: ${engineSeconds.toFixed(1)} s, ${documents.length} documents, ${expectedTraces} traces`,
  );

  // Untimed: Elasticsearch writes the documents once before the first ceiling, so no ceiling
  // pays for its JIT warming up (on a fresh node the first run took 13.4 s, later ones 3.4 to 4.3).
  const esWarmup = await ceiling(
    documents,
    `dt-bench-warmup-${randomBytes(3).toString("hex")}`,
    SERVICE.bulk_concurrency,
  );
  log(
    `Elasticsearch warm-up (untimed): the documents written once in ${esWarmup.seconds.toFixed(1)} s`,
  );

  // The machine is shared and its load drifts over minutes: each pipeline run gets its own
  // ceiling, measured right before it, the best of the bulk requests in flight of one
  // instance and of two; and every process count is measured `rounds` times, alternating.
  const nc = await connect({ servers: natsUrl });
  const runs: PipelineRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const instances of instancesList) {
        const ceilings: CeilingRun[] = [];
        for (const concurrency of [SERVICE.bulk_concurrency, SERVICE.bulk_concurrency * 2]) {
          const c = await ceiling(
            documents,
            `dt-bench-ceiling-${randomBytes(3).toString("hex")}`,
            concurrency,
          );
          log(
            `raw bulk, ${concurrency} requests in flight: ${c.seconds.toFixed(1)} s; Elasticsearch CPU ${c.cpu.elasticsearchSeconds.toFixed(1)} s, machine ${(100 * c.cpu.machineBusy).toFixed(0)}% busy`,
          );
          ceilings.push({
            concurrency,
            ...c,
            spansPerSecond: spans.length / c.seconds,
            documentsPerSecond: documents.length / c.seconds,
          });
        }
        const best = ceilings.reduce((a, b) => (b.spansPerSecond > a.spansPerSecond ? b : a));
        const run = await pipeline(
          nc,
          messages,
          warmupMessages,
          instances,
          expectedTraces,
          totalBytes,
        );
        const spansPerSecond = spans.length / run.seconds;
        runs.push({
          ...run,
          round,
          ceilings,
          ceilingSpansPerSecond: best.spansPerSecond,
          spansPerSecond,
          windowSpansPerSecond: windowSpans / run.seconds,
          fractionOfCeiling: spansPerSecond / best.spansPerSecond,
        });
        log(
          `round ${round}, ${instances} instance(s): ${run.seconds.toFixed(1)} s, ${Math.round(spansPerSecond)} spans/s, ${((100 * spansPerSecond) / best.spansPerSecond).toFixed(0)}% of the ceiling; CPU s: Elasticsearch ${run.cpu.elasticsearchSeconds.toFixed(1)}, assemblers ${run.cpu.assemblerSeconds.toFixed(1)}, machine ${(100 * run.cpu.machineBusy).toFixed(0)}% busy`,
        );
      }
    }
  } finally {
    await nc.close();
  }

  const results: AssemblerBenchResults = {
    command: args.quick
      ? "node services/trace-assembler/dist/bench/assembler-bench.js --quick"
      : "npm run bench:assembler",
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryBytes: totalmem(),
      node: process.version,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg(),
    },
    code: engineState(),
    workload: {
      requests,
      rate,
      seed: args.seed,
      spans: spans.length,
      windows: windows.length,
      windowMs: Number(args["window-ms"]),
      marginMs: Number(args["margin-ms"]),
      windowSpans,
      windowBytes: totalBytes,
      documents: documents.length,
      traces: expectedTraces,
      warmupWindows: warmup.length,
    },
    service: {
      concurrency: SERVICE.concurrency,
      bulkDocuments: SERVICE.bulk_documents,
      bulkMaxBytes: SERVICE.bulk_max_bytes,
      bulkConcurrency: SERVICE.bulk_concurrency,
    },
    engineInBenchProcess: { seconds: engineSeconds, spansPerSecond: spans.length / engineSeconds },
    elasticsearchWarmupSeconds: esWarmup.seconds,
    pipeline: runs,
    target: TARGET,
  };
  const json = `${JSON.stringify(results, null, 2)}\n`;
  if (args.quick) {
    process.stdout.write(json);
  } else {
    mkdirSync(join(REPO, "docs/bench"), { recursive: true });
    writeFileSync(join(REPO, "docs/bench/assembler.json"), json);
    const index = join(REPO, "docs/benchmarks.md");
    writeFileSync(index, withAssemblerSection(readFileSync(index, "utf8"), results));
    log("wrote docs/bench/assembler.json and the assembler section of docs/benchmarks.md");
  }
  await es.close();
}

await main();
