/**
 * The whole system under faults: the three services as separate processes with real
 * Elasticsearch, NATS JetStream and sshd. The agent-manager deploys emulated agents to three
 * SSH test hosts whose monotonic clocks differ (time namespaces, see scripts/infra); they
 * replay one generated multi-host workload in step, each stamping spans with its own clock.
 * While the pipeline runs: kill -9 one assembler (an orchestrator starts a new one), restart
 * the span-poller, and stop Elasticsearch for 30 s. Afterwards every span is in exactly one
 * stored trace, and the stored traces score against the generator's ground truth as well as
 * the engine does on the same spans in one piece.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentManagerService } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import { AgentState } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import { SpanPollerService } from "@deeptrace/shared/gen/deeptrace/poller/v1/span_poller_service_pb";
import { TraceAssemblerService } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_assembler_service_pb";
import type { Trace } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { createServiceClient } from "@deeptrace/shared/grpc/client";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";
import { Client as Elastic } from "@elastic/elasticsearch";
import { connect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { traceFromDocument } from "../../services/trace-assembler/src/documents/trace-documents.js";
import { assemble } from "../../services/trace-assembler/src/engine/assemble.js";
import { parseGroundTruth } from "../../services/trace-assembler/src/scoring/ground-truth.js";
import { score } from "../../services/trace-assembler/src/scoring/score.js";
import { publishEmulator } from "../agent-manager/support/emulator-repo.js";
import { natsUrl, type SshHost, sshHosts, urlForHosts } from "../support/infrastructure.js";
import { homeOf, userIds } from "../support/local-user.js";
import { type RunningService, startService } from "../support/service-process.js";
import { waitFor } from "../trace-assembler/support/harness.js";
import { PrivateElasticsearch } from "./support/private-elasticsearch.js";
import { type ReplayedWorkload, writeReplayedWorkload } from "./support/replayed-workload.js";

const RUN = randomBytes(3).toString("hex");
const PREFIX = `sys-${RUN}`;
const STREAM = `SYS_${RUN.toUpperCase()}`;
const TOKENS = { admin: `sys-admin-${RUN}`, viewer: `sys-viewer-${RUN}` };
/** Seconds between writing the configuration and the first replayed span. */
const LEAD_S = 25;

const work = mkdtempSync(join(tmpdir(), `deeptrace-system-${RUN}-`));
// A port outside the ephemeral range, so nothing takes it while Elasticsearch is down.
const es = new PrivateElasticsearch(`sys${RUN}`, 20_000 + (Number.parseInt(RUN, 16) % 12_000));
const elastic = new Elastic({ node: es.url, requestTimeout: 30_000 });
let hosts: SshHost[];
let workload: ReplayedWorkload;
let config: string;
let manager: RunningService;
let poller: RunningService;
const assemblers: RunningService[] = [];

const managerClient = () =>
  createServiceClient(AgentManagerService, { address: manager.grpc, token: TOKENS.admin });
const pollerClient = () =>
  createServiceClient(SpanPollerService, { address: poller.grpc, token: TOKENS.viewer });
const assemblerClient = (s: RunningService) =>
  createServiceClient(TraceAssemblerService, { address: s.grpc, token: TOKENS.viewer });

/** The harness's waitFor with the description first, as the steps below read. */
function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | false>,
): Promise<T> {
  return waitFor(probe, what, timeoutMs);
}

async function count(index: string): Promise<number> {
  await elastic.indices.refresh({ index, ignore_unavailable: true });
  return (await elastic.count({ index, ignore_unavailable: true })).count;
}

/** Every document of an index (scroll), as _id and _source. */
async function readAll(index: string): Promise<Array<{ _id: string; _source: unknown }>> {
  await elastic.indices.refresh({ index });
  const out: Array<{ _id: string; _source: unknown }> = [];
  let page = await elastic.search({ index, scroll: "1m", size: 2_000, sort: ["_doc"] });
  while (page.hits.hits.length > 0) {
    for (const hit of page.hits.hits) out.push({ _id: hit._id as string, _source: hit._source });
    page = await elastic.scroll({ scroll_id: page._scroll_id as string, scroll: "1m" });
  }
  if (page._scroll_id) await elastic.clearScroll({ scroll_id: page._scroll_id });
  return out;
}

function startAssembler(): Promise<RunningService> {
  return startService("trace-assembler", { config }).then((s) => {
    assemblers.push(s);
    return s;
  });
}

function startPoller(): Promise<RunningService> {
  return startService("span-poller", {
    config,
    env: { DEEPTRACE__SPAN_POLLER__AGENT_MANAGER_ADDRESS: manager.grpc },
  });
}

function writeConfig(repo: { url: string; commit: string }, wallShiftNs: bigint): string {
  const path = join(work, "deeptrace.toml");
  writeFileSync(join(work, "admin.token"), TOKENS.admin, { mode: 0o600 });
  writeFileSync(join(work, "viewer.token"), TOKENS.viewer, { mode: 0o600 });
  const agents = workload.manifest.agents.map((a, k) => {
    const host = hosts[k] as SshHost;
    return `[[agents]]
[agents.agent_info]
agent_name = "${workload.agents[k]}"
user_name = "${host.user}"
host_ip = "${host.ip}"
ssh_port = ${host.port}
private_key_path = "${host.privateKeyPath}"
host_key_fingerprint = "${host.hostKeyFingerprint}"
[agents.emulator]
source_index = "${a.index}"
source_clock_offset_ns = "${a.clockOffsetNs}"
`;
  });
  writeFileSync(
    path,
    `[log]
level = "info"

[elastic]
url = "${es.url}"
index_prefix = "${PREFIX}"

[nats]
url = "${natsUrl()}"
stream = "${STREAM}"
subject = "${PREFIX}.windows"
dead_letter_subject = "${PREFIX}.dead"
consumer = "${PREFIX}"
stream_max_bytes = ${64 * 1024 * 1024}
ack_wait_ms = 10000

[[auth.tokens]]
name = "admin"
role = "admin"
token = "file:${join(work, "admin.token")}"

[[auth.tokens]]
name = "viewer"
role = "viewer"
token = "file:${join(work, "viewer.token")}"

[agent_manager]
probe_interval_ms = 2000
agent_elastic_url = "${urlForHosts(es.url)}"

[agent_manager.agent_defaults]
api_port = ${es.port + 1}

[agent_manager.agent_defaults.source]
repository_url = "${repo.url}"
ref = "${repo.commit}"

[agent_manager.agent_defaults.emulator]
dataset = "${workload.dataset}"
speed = 1.0
loop = false
wall_shift_ns = "${wallShiftNs}"

[span_poller]
agent_manager_token = "file:${join(work, "viewer.token")}"
window_ms = 2000
margin_ms = 2000
allowed_lateness_ms = 2000

${agents.join("\n")}`,
  );
  return path;
}

beforeAll(async () => {
  hosts = sshHosts().hosts.slice(0, 3);
  expect(hosts).toHaveLength(3);
  const user = (hosts[0] as SshHost).user;
  await es.start();
  // About 40 s of traffic: 600 requests at 15/s over the mixed topology on three hosts.
  workload = writeReplayedWorkload(
    { topology: "mixed", hosts: 3, rate: 15, concurrency: 50, requests: 600, seed: `sys-${RUN}` },
    join(work, "workload"),
    user,
    (k) => `sys${RUN}n${k + 1}`,
  );
  const repo = publishEmulator(work, userIds(user));
  const firstSpanWallNs = BigInt(Date.now() + LEAD_S * 1000) * 1_000_000n;
  config = writeConfig(repo, firstSpanWallNs - BigInt(workload.manifest.startWallNs));

  manager = await startService("agent-manager", { config });
  await Promise.all([startAssembler(), startAssembler()]);
  poller = await startPoller();
  await Promise.all([manager, poller, ...assemblers].map((s) => s.ready()));

  const fleet = managerClient();
  for await (const event of fleet.deployAgents({
    selector: { names: workload.agents },
    start: true,
  })) {
    if (event.event.case === "result" && !event.event.value.ok) {
      const r = event.event.value;
      throw new Error(`deploying ${r.agent} failed at ${r.failedStep}: ${r.message}`);
    }
  }
}, 300_000);

afterAll(async () => {
  if (manager) {
    await managerClient()
      .stopAgents({ selector: { names: workload.agents } })
      .catch(() => undefined);
  }
  for (const s of [poller, ...assemblers, manager]) await s?.stop();
  const home = hosts?.[0] && homeOf(hosts[0].user);
  for (const agent of workload?.agents ?? []) {
    if (home) rmSync(join(home, "deeptrace-agents", agent), { recursive: true, force: true });
  }
  const nc = await connect({ servers: natsUrl() });
  await (await nc.jetstreamManager()).streams.delete(STREAM).catch(() => undefined);
  await nc.close();
  await es.discard();
  rmSync(work, { recursive: true, force: true });
}, 180_000);

describe("the whole pipeline on three hosts with different clocks, under faults", () => {
  it("measures each host's own clock offset", async () => {
    const measured = await until(
      "every agent running with a measured clock offset",
      60_000,
      async () => {
        const { agents: now } = await managerClient().listAgents({
          selector: { names: workload.agents },
        });
        return now.every((a) => a.state === AgentState.RUNNING && a.clockOffsetMeasuredAtNs > 0n)
          ? now
          : undefined;
      },
    );
    expect(measured).toHaveLength(3);
    const offsetOf = (k: number) =>
      measured.find((a) => a.name === workload.agents[k])?.clockOffsetNs ?? 0n;
    for (const k of [1, 2]) {
      // Host k's monotonic clock is ahead by its shift, so its offset is smaller by as much.
      const expected = BigInt((hosts[k] as SshHost).clockShiftNs);
      expect(expected).toBeGreaterThan(0n);
      const diffMs = Number(offsetOf(0) - offsetOf(k) - expected) / 1e6;
      expect(Math.abs(diffMs)).toBeLessThan(50);
    }
  });

  it("stores every span in exactly one trace, as accurately as the engine, after kill -9, a poller restart and 30 s without Elasticsearch", async () => {
    const total = [...workload.documentsPerIndex.values()].reduce((a, b) => a + b, 0);
    const spanIndices = [...workload.documentsPerIndex.keys()];
    const traced = () => count(`${PREFIX}-spans`);

    // Fault 1: once windows flow, kill -9 an assembler; a new one takes its place.
    await until("the first traces", 120_000, async () => (await traced()) > 0);
    const victim = assemblers[1] as RunningService;
    victim.process.kill("SIGKILL");
    await until(
      "the killed assembler to exit",
      10_000,
      async () => victim.process.exitCode !== null || victim.process.signalCode !== null,
    );
    await startAssembler().then((s) => s.ready());

    // Fault 2: restart the span-poller while spans keep arriving.
    await sleep(5_000);
    await poller.stop();
    poller = await startPoller();
    await poller.ready();

    // Fault 3: Elasticsearch down for 30 s while agents write and windows are in flight.
    await sleep(5_000);
    const before = await traced();
    expect(before).toBeLessThan(total);
    await es.stop();
    await sleep(30_000);
    await es.start();

    // Everything arrives, every window is assembled.
    await until("every span in the agents' indices", 180_000, async () => {
      const counts = await Promise.all(spanIndices.map(count));
      return counts.reduce((a, b) => a + b, 0) === total;
    });
    let progress = "";
    await until("every span in a stored trace", 240_000, async () => {
      const n = await traced();
      const p = await pollerClient().getStatus({});
      const live = assemblers.filter(
        (a) => a.process.exitCode === null && a.process.signalCode === null,
      );
      const stats = await Promise.all(live.map((a) => assemblerClient(a).getStats({})));
      const agents = p.agents.map(
        (a) => `${a.agent} watermark ${a.watermarkNs} error "${a.lastError}"`,
      );
      const warnings = poller.output.filter((l) => /"level":(40|50)/.test(l)).slice(-5);
      progress = `${n} of ${total} spans traced; poller: ${p.windowsPublished} windows, ${p.lateSpans} late spans, ${p.repairs} repairs, next window ${p.nextWindowStartNs}, watermark ${p.watermarkNs}, error "${p.lastError}", agents: ${agents.join("; ")}; assemblers: ${stats.map((s) => `${s.windowsProcessed} windows, ${s.pendingWindows} pending, ${s.deadLetters} dead letters`).join(" / ")}; poller warnings: ${warnings.join("\n")}`;
      return n === total;
    }).catch((error: Error) => {
      throw new Error(`${error.message}: ${progress}`);
    });
    await until("the assemblers to drain", 60_000, async () => {
      const stats = await assemblerClient(assemblers[0] as RunningService).getStats({});
      return stats.pendingWindows === 0n;
    });
    const status = await pollerClient().getStatus({});
    expect(status.lastError).toBe("");

    // Exactly once: every source span is in one stored trace, no trace twice.
    const traces: Trace[] = (await readAll(`${PREFIX}-traces`)).map((d) =>
      traceFromDocument(d._source as Record<string, unknown>),
    );
    expect(new Set(traces.map((t) => t.traceId)).size).toBe(traces.length);
    const seen = new Map<string, number>();
    for (const t of traces)
      for (const s of t.spans) seen.set(s.spanId, (seen.get(s.spanId) ?? 0) + 1);
    expect(seen.size).toBe(total);
    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);

    // The same spans, as stored by the agents, assembled in one piece by the engine.
    const { agents } = await managerClient().listAgents({ selector: { names: workload.agents } });
    const documents = (await Promise.all(spanIndices.map(readAll))).flatMap((docs, i) =>
      docs.map((d) => ({ _index: spanIndices[i] as string, _id: d._id, _source: d._source })),
    );
    const ingest = ingestDocuments(documents, {
      format: "agent",
      index: "spans",
      clockOffsetsNs: new Map(agents.map((a) => [a.name, a.clockOffsetNs])),
    });
    expect(ingest.rejected).toBe(0);
    const truth = parseGroundTruth(workload.groundTruthLines);
    const engine = score(assemble(ingest.spans, { algorithm: "deeptrace" }).traces, truth);
    const stored = score(traces, truth);
    expect(engine.spansWithoutTruth).toBe(0);
    expect(stored.spansWithoutTruth).toBe(0);
    expect(engine.e2e.requests).toBeGreaterThan(500);
    expect(stored.e2e.requests).toBe(engine.e2e.requests);
    console.log(
      `system test: ${traces.length} traces, ${total} spans; e2e stored ${stored.e2e.accuracy.toFixed(4)}, engine ${engine.e2e.accuracy.toFixed(4)}; windows ${status.windowsPublished}, late spans ${status.lateSpans}, repairs ${status.repairs}`,
    );
    expect(stored.e2e.accuracy).toBeGreaterThanOrEqual(engine.e2e.accuracy - 0.01);
    expect(stored.cross.precision).toBeGreaterThanOrEqual(engine.cross.precision - 0.01);
  }, 900_000);
});
