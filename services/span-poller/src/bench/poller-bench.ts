/**
 * Span-poller benchmark (`npm run bench:poller`), against the real Elasticsearch and NATS
 * the project's infra scripts start, with the real poller process:
 *
 * 1. Throughput: a backlog of spans from three agents (different clock offsets) is in
 *    Elasticsearch before the poller starts; measured are spans/s read (the poller's own
 *    spans_read counter) and spans/s published (members received from the stream).
 * 2. Latency: agents write spans of "now" continuously; for every span, the time from its
 *    bulk write being acknowledged by Elasticsearch to the first window holding it as a
 *    member arriving from JetStream, at the stated window, lateness and margin settings.
 *
 * Results go to docs/bench/poller.json and docs/benchmarks-poller.md.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { loadConfig } from "@deeptrace/shared/config/load-config";
import { SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { ensureWindowStream } from "@deeptrace/shared/nats/window-stream";
import { spanIdFor } from "@deeptrace/shared/spans/ids";
import { Client } from "@elastic/elasticsearch";
import { AckPolicy, connect, type NatsConnection } from "nats";
import {
  AGENT_INDEX_MAPPINGS,
  agentDoc,
  type SyntheticAgent,
  syntheticAgents,
} from "./agent-docs.js";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const MS = 1_000_000n;

const THROUGHPUT_SPANS = 60_000;
const THROUGHPUT_EVENT_SECONDS = 60;
const LATENCY_SECONDS = 20;
const LATENCY_SPANS_PER_SECOND = 1_500;

/** Poller settings of both runs (the latency depends on them). */
const SETTINGS = {
  window_ms: 1_000,
  margin_ms: 500,
  allowed_lateness_ms: 1_000,
  refresh_margin_ms: 1_000,
  poll_interval_ms: 200,
  page_size: 2_000,
  repair_interval_ms: 2_000,
};

function infraUrls(): { es: string; nats: string } {
  if (process.env.ES_URL && process.env.NATS_URL) {
    return { es: process.env.ES_URL, nats: process.env.NATS_URL };
  }
  // Starts them when they are not running (reuses them otherwise).
  for (const script of ["start-elasticsearch.sh", "start-nats.sh"]) {
    execFileSync("bash", [join(repoRoot, "scripts/infra", script)], { stdio: "inherit" });
  }
  const run = join(process.env.DEEPTRACE_CACHE ?? join(homedir(), ".cache/deeptrace"), "run");
  const read = (file: string, key: string) => {
    const match = new RegExp(`^${key}=(.*)$`, "m").exec(readFileSync(join(run, file), "utf8"));
    if (!match?.[1]) throw new Error(`${key} missing in ${join(run, file)}`);
    return match[1];
  };
  return { es: read("elasticsearch.env", "ES_URL"), nats: read("nats.env", "NATS_URL") };
}

interface Run {
  id: string;
  agents: SyntheticAgent[];
  config: string;
  stream: string;
  subject: string;
}

function prepareRun(label: string, urls: { es: string; nats: string }, extra: object): Run {
  const id = `bench${label}${randomBytes(3).toString("hex")}`;
  const agents = syntheticAgents(id, 3);
  const stream = `BENCH_${id.toUpperCase()}`;
  const subject = `bench.${id}.windows`;
  const lines = [
    `[elastic]\nurl = "${urls.es}"\nindex_prefix = "${id}"\n`,
    `[nats]\nurl = "${urls.nats}"\nstream = "${stream}"\nsubject = "${subject}"`,
    `dead_letter_subject = "${subject}.dead"`,
    // JetStream reserves max_bytes per stream; keep the reservation small on a shared server.
    `stream_max_bytes = ${256 * 1024 * 1024}\n`,
    "[auth]\nenabled = false\n",
    '[log]\nlevel = "warn"\n',
    "[span_poller]",
    ...Object.entries({ ...SETTINGS, ...extra }).map(
      ([k, v]) => `${k} = ${typeof v === "string" ? `"${v}"` : v}`,
    ),
    "\n[span_poller.clock_offsets_ns]",
    ...agents.map((a) => `"${a.name}" = "${a.offsetNs}"`),
    "",
    ...agents.map(
      (a) =>
        `[[agents]]\n[agents.agent_info]\nagent_name = "${a.name}"\nuser_name = "bench"\n` +
        `host_ip = "127.0.0.1"\nprivate_key_path = "/nonexistent/id_ed25519"\n`,
    ),
  ];
  const config = join(mkdtempSync(join(tmpdir(), "deeptrace-poller-bench-")), "poller.toml");
  writeFileSync(config, lines.join("\n"));
  return { id, agents, config, stream, subject };
}

class Writer {
  private n = 0;
  constructor(
    readonly es: Client,
    readonly run: Run,
  ) {}

  async createIndices(): Promise<void> {
    for (const a of this.run.agents) {
      await this.es.indices.create({
        index: a.index,
        settings: { number_of_shards: 1, number_of_replicas: 0 },
        mappings: AGENT_INDEX_MAPPINGS,
      });
    }
  }

  /** Writes spans; returns their span ids. */
  async write(spans: { agent: number; wallNs: bigint }[]): Promise<string[]> {
    const operations: object[] = [];
    const ids: string[] = [];
    for (const s of spans) {
      const agent = this.run.agents[s.agent] as SyntheticAgent;
      const docId = `b${this.n}`;
      operations.push(
        { index: { _index: agent.index, _id: docId } },
        agentDoc(agent, s.wallNs, this.n),
      );
      ids.push(spanIdFor(agent.name, agent.index, docId));
      this.n++;
    }
    const response = await this.es.bulk({ operations });
    if (response.errors) throw new Error("bulk write failed");
    return ids;
  }

  async cleanup(): Promise<void> {
    await this.es.indices.delete({
      index: [...this.run.agents.map((a) => a.index), `${this.run.id}-poller-state`],
      ignore_unavailable: true,
    });
  }
}

/** Receives windows from the run's stream and notes when each member span first arrived. */
class Receiver {
  readonly firstSeenMs = new Map<string, number>();
  windows = 0;
  bytes = 0;
  private nc: NatsConnection | undefined;

  async start(urls: { nats: string }, run: Run): Promise<void> {
    this.nc = await connect({ servers: urls.nats });
    const jsm = await this.nc.jetstreamManager();
    await ensureWindowStream(jsm, loadConfig({ path: run.config }));
    await jsm.consumers.add(run.stream, {
      durable_name: "bench",
      ack_policy: AckPolicy.Explicit,
      filter_subject: run.subject,
    });
    const consumer = await this.nc.jetstream().consumers.get(run.stream, "bench");
    const messages = await consumer.consume();
    void (async () => {
      for await (const m of messages) {
        const at = Date.now();
        const w = fromBinary(SpanWindowSchema, m.data);
        this.windows++;
        this.bytes += m.data.length;
        for (const s of w.spans) {
          if (
            s.startTimeNs >= w.startNs &&
            s.startTimeNs < w.endNs &&
            !this.firstSeenMs.has(s.spanId)
          ) {
            this.firstSeenMs.set(s.spanId, at);
          }
        }
        m.ack();
      }
    })();
  }

  async stop(run: Run): Promise<void> {
    if (!this.nc) return;
    await (await this.nc.jetstreamManager()).streams.delete(run.stream);
    await this.nc.close();
  }
}

interface PollerProcess {
  metricsUrl: string;
  stop(): Promise<void>;
}

async function startPoller(run: Run): Promise<PollerProcess> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, "services/span-poller/dist/main.js"), "--config", run.config],
    {
      env: {
        ...process.env,
        DEEPTRACE__SPAN_POLLER__LISTEN: "127.0.0.1:0",
        DEEPTRACE__SPAN_POLLER__HTTP_LISTEN: "127.0.0.1:0",
        DEEPTRACE__LOG__LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const http = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.includes('"service started"'))
          resolve((JSON.parse(line) as { http: string }).http);
      }
    });
    child.once("exit", (code) => reject(new Error(`span-poller exited with ${code}`)));
  });
  return {
    metricsUrl: `http://${http}/metrics`,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function spansRead(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("deeptrace_poller_spans_read_total{"))
      total += Number(line.split(" ").pop());
  }
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function throughput(urls: { es: string; nats: string }, es: Client) {
  const run = prepareRun("tp", urls, {});
  const writer = new Writer(es, run);
  await writer.createIndices();
  const end = (BigInt(Date.now()) - 60_000n) * MS;
  const start = end - BigInt(THROUGHPUT_EVENT_SECONDS) * 1_000n * MS;
  const step = (end - start) / BigInt(THROUGHPUT_SPANS);
  const expected: string[] = [];
  for (let i = 0; i < THROUGHPUT_SPANS; i += 5_000) {
    const batch = [];
    for (let j = i; j < Math.min(THROUGHPUT_SPANS, i + 5_000); j++) {
      batch.push({ agent: j % 3, wallNs: start + BigInt(j) * step });
    }
    expected.push(...(await writer.write(batch)));
  }
  await es.indices.refresh({ index: run.agents.map((a) => a.index) });
  const receiver = new Receiver();
  await receiver.start(urls, run);
  const t0 = Date.now();
  const poller = await startPoller(run);
  let readDoneMs: number | undefined;
  try {
    while (receiver.firstSeenMs.size < expected.length) {
      if (readDoneMs === undefined && (await spansRead(poller.metricsUrl)) >= expected.length) {
        readDoneMs = Date.now() - t0;
      }
      if (Date.now() - t0 > 600_000) throw new Error("throughput run did not finish in 10 minutes");
      await sleep(100);
    }
  } finally {
    await poller.stop();
    await receiver.stop(run);
    await writer.cleanup();
  }
  const publishedDoneMs = Math.max(...receiver.firstSeenMs.values()) - t0;
  readDoneMs ??= publishedDoneMs;
  return {
    spans: expected.length,
    agents: run.agents.length,
    event_time_seconds: THROUGHPUT_EVENT_SECONDS,
    read_seconds: readDoneMs / 1000,
    published_seconds: publishedDoneMs / 1000,
    read_spans_per_second: Math.round(expected.length / (readDoneMs / 1000)),
    published_spans_per_second: Math.round(expected.length / (publishedDoneMs / 1000)),
    windows: receiver.windows,
    mean_window_bytes: Math.round(receiver.bytes / receiver.windows),
    note: "from process start (includes start-up) until the last member span was read / received",
  };
}

async function latency(urls: { es: string; nats: string }, es: Client) {
  // Empty indices: the first window starts at the first span less the allowed lateness.
  const run = prepareRun("lat", urls, {});
  const writer = new Writer(es, run);
  await writer.createIndices();
  const receiver = new Receiver();
  await receiver.start(urls, run);
  const poller = await startPoller(run);
  try {
    return await measureLatency(writer, receiver);
  } finally {
    await poller.stop();
    await receiver.stop(run);
    await writer.cleanup();
  }
}

async function measureLatency(writer: Writer, receiver: Receiver) {
  const indexedAtMs = new Map<string, number>();
  const tickMs = 100;
  const perTick = Math.round((LATENCY_SPANS_PER_SECOND * tickMs) / 1000);
  const until = Date.now() + LATENCY_SECONDS * 1000;
  for (let tick = 0; Date.now() < until; tick++) {
    const now = BigInt(Date.now()) * MS;
    // Out of order within 200 ms, as agents flush batches.
    const batch = Array.from({ length: perTick }, (_, i) => ({
      agent: i % 3,
      wallNs: now - BigInt((i * 7_919 + tick * 31) % 200) * MS,
    }));
    const ids = await writer.write(batch);
    const at = Date.now();
    for (const id of ids) indexedAtMs.set(id, at);
    await sleep(Math.max(0, tickMs - (Date.now() - at)));
  }
  const deadline = Date.now() + 60_000;
  while ([...indexedAtMs.keys()].some((id) => !receiver.firstSeenMs.has(id))) {
    if (Date.now() > deadline) throw new Error("latency run: spans missing after 60 s");
    await sleep(200);
  }
  const latencies = [...indexedAtMs].map(
    ([id, at]) => (receiver.firstSeenMs.get(id) as number) - at,
  );
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] as number;
  return {
    spans: latencies.length,
    spans_per_second: LATENCY_SPANS_PER_SECOND,
    seconds: LATENCY_SECONDS,
    latency_ms: {
      min: latencies[0],
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      max: latencies[latencies.length - 1],
      mean: Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
    },
    expected_ms:
      "about window/2 (wait for the window end) + margin + allowed lateness + refresh margin + poll interval, plus the index refresh (1 s default)",
  };
}

async function main(): Promise<void> {
  const urls = infraUrls();
  const es = new Client({ node: urls.es });
  // The integ-test-zip distribution does not serve GET /; the nodes API says the version.
  const nodes = await es.nodes.info({ metric: "settings", filter_path: "nodes.*.version" });
  const version = Object.values(nodes.nodes)[0]?.version ?? "unknown";
  // Other work on the machine (other test suites) skews the numbers: record how busy it was.
  const loadBefore = loadavg()[0] as number;
  const tp = await throughput(urls, es);
  process.stdout.write(`throughput: ${JSON.stringify(tp)}\n`);
  const lat = await latency(urls, es);
  await es.close();
  const result = {
    benchmark: "span-poller",
    measured_at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      node: process.version,
      elasticsearch: version,
      load_average_1m: { before: loadBefore, after: loadavg()[0] as number },
    },
    settings: SETTINGS,
    throughput: tp,
    latency: lat,
  };
  mkdirSync(join(repoRoot, "docs/bench"), { recursive: true });
  writeFileSync(join(repoRoot, "docs/bench/poller.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(repoRoot, "docs/benchmarks-poller.md"), markdown(result));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

function markdown(r: {
  measured_at: string;
  machine: {
    cpus: number;
    node: string;
    elasticsearch: string;
    load_average_1m: { before: number; after: number };
  };
  throughput: Awaited<ReturnType<typeof throughput>>;
  latency: Awaited<ReturnType<typeof latency>>;
}): string {
  const s = SETTINGS;
  const t = r.throughput;
  const l = r.latency;
  return `## Span poller

\`npm run bench:poller\` (services/span-poller/src/bench/poller-bench.ts) runs the real poller
process against the Elasticsearch ${r.machine.elasticsearch} (integ-test-zip) and NATS
JetStream the infra scripts start, on ${r.machine.cpus} cores, Node ${r.machine.node}, all on one machine
(Elasticsearch, NATS, poller and the benchmark's writer and consumer share the cores; the
1-minute load average was ${r.machine.load_average_1m.before.toFixed(1)} before and ${r.machine.load_average_1m.after.toFixed(1)} after the run).
Measured ${r.measured_at}; raw numbers in \`docs/bench/poller.json\`.

Settings: window ${s.window_ms} ms, margin L ${s.margin_ms} ms, allowed lateness
${s.allowed_lateness_ms} ms, refresh margin ${s.refresh_margin_ms} ms, poll interval
${s.poll_interval_ms} ms, page size ${s.page_size}; 3 agents with different clock offsets.

| measurement | result |
| --- | --- |
| backlog read from Elasticsearch (PIT + search_after) | ${t.read_spans_per_second} spans/s (${t.spans} spans in ${t.read_seconds.toFixed(1)} s) |
| backlog read and published as windows | ${t.published_spans_per_second} spans/s (${t.windows} windows, mean ${Math.round(t.mean_window_bytes / 1024)} KiB) |
| latency, span indexed → its window received from JetStream (${Math.round(l.spans / l.seconds)} spans/s written live for ${l.seconds} s) | p50 ${l.latency_ms.p50} ms, p90 ${l.latency_ms.p90} ms, p99 ${l.latency_ms.p99} ms, max ${l.latency_ms.max} ms |

Throughput counts from the poller process start, so start-up (connections, state index)
is included. Latency is dominated by design, not by work: a span waits for the end of its
window (up to ${s.window_ms} ms), then for the watermark to pass the window end plus the
margin (${s.margin_ms} ms) with the allowed lateness (${s.allowed_lateness_ms} ms) and the
refresh margin (${s.refresh_margin_ms} ms) subtracted, plus up to one poll interval
(${s.poll_interval_ms} ms) — about ${s.window_ms / 2 + s.margin_ms + s.allowed_lateness_ms + s.refresh_margin_ms + s.poll_interval_ms / 2} ms on average.
Lower lateness and margin settings lower it one for one, at the price of more repairs.
`;
}

await main();
// NATS consumer iterators can keep the event loop alive after their connection closed.
process.exit(0);
