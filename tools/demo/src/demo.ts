#!/usr/bin/env node
/**
 * The main job, on this machine: the three services as separate processes against local
 * Elasticsearch, NATS JetStream and SSH test hosts; an emulated agent deployed over SSH by
 * the agent-manager replays the bundled real spans (rps100-spans.json) with live
 * timestamps; the span-poller windows them; two trace-assemblers build the traces. Prints
 * the traces, the accuracy against the propagated request ids, and grpcurl commands.
 *
 * usage: node tools/demo/dist/demo.js [--exit]   (normally through `npm run demo`)
 *   --exit   stop everything after the report instead of waiting for Ctrl-C
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Client } from "@connectrpc/connect";
import { AgentManagerService } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import { AgentState } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import { SpanPollerService } from "@deeptrace/shared/gen/deeptrace/poller/v1/span_poller_service_pb";
import { TraceAssemblerService } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_assembler_service_pb";
import type { Trace } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { createServiceClient } from "@deeptrace/shared/grpc/client";
import { type RunningService, startService } from "@deeptrace/shared/service/service-process";
import { deleteStream } from "./delete-stream.js";
import { DEMO_STREAM, demoConfig } from "./demo-config.js";
import { assertDemoPortsFree, DEMO_LISTEN, listenEnv } from "./demo-ports.js";
import { demoEnvironment } from "./environment.js";
import { printReport } from "./report.js";
import { waitFor } from "./wait-for.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const DATASET = join(repoRoot, "..", "shared", "data", "rps100-spans.json");
const DATASET_SPANS = 1604;

const { values } = parseArgs({ options: { exit: { type: "boolean" } } });
const env = demoEnvironment();
const host = env.hosts[0];
if (!host) throw new Error("no SSH test host is set up: run scripts/infra/start-all.sh");

await assertDemoPortsFree().catch((error: Error) => {
  process.stderr.write(`demo: ${error.message}\n`);
  process.exit(1);
});

const runId = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15).toLowerCase();
// A fresh agent (and so a fresh spans_<agent> index) per run.
const AGENT = `demo-${runId}`;
// Secrets and the configuration stay in the cache (root only); what the SSH user clones and
// reads goes to a directory of its own.
const workDir = join(env.cacheDir, "demo", runId);
mkdirSync(workDir, { recursive: true, mode: 0o700 });
const hostFiles = mkdtempSync(join(tmpdir(), `deeptrace-demo-${runId}-`));
chmodSync(hostFiles, 0o755);
const step = (text: string) => process.stdout.write(`\n== ${text}\n`);

// Tokens live in 0600 files that the configuration references; nothing secret is in it.
const tokens = {
  admin: randomBytes(18).toString("base64url"),
  viewer: randomBytes(18).toString("base64url"),
};
const tokenFile = (role: string, token: string) => {
  const path = join(workDir, `${role}.token`);
  writeFileSync(path, token, { mode: 0o600 });
  return path;
};
const adminTokenFile = tokenFile("admin", tokens.admin);
const viewerTokenFile = tokenFile("viewer", tokens.viewer);
// The running demo's files under a fixed name too, for the README's grpcurl commands.
const currentDir = join(env.cacheDir, "demo", "current");
rmSync(currentDir, { force: true });
symlinkSync(runId, currentDir);

step(`publishing the agent emulator repository and the dataset for the SSH hosts (${hostFiles})`);
const repository = join(hostFiles, "agent-emulator.git");
const commit = execFileSync(
  "sh",
  [join(repoRoot, "tools", "agent-emulator", "publish-repo.sh"), repository],
  {
    encoding: "utf8",
  },
).trim();
const dataset = join(hostFiles, "rps100-spans.json");
copyFileSync(DATASET, dataset);
// The SSH user clones and reads these as itself.
execFileSync("chown", ["-R", `${host.user}:`, hostFiles]);

// A run killed before it could clean up leaves its stream: start from an empty one.
await deleteStream(env.natsUrl, DEMO_STREAM);
const configPath = join(workDir, "deeptrace.toml");
writeFileSync(
  configPath,
  demoConfig({
    env,
    runId,
    adminTokenFile,
    viewerTokenFile,
    repository,
    commit,
    dataset,
  }),
);

const services: RunningService[] = [];
let stopAgent: (() => Promise<unknown>) | undefined;
let stopping = false;
const stopAll = async () => {
  if (stopping) return;
  stopping = true;
  step("stopping");
  await stopAgent?.().catch((error: Error) =>
    process.stderr.write(`could not remove ${AGENT}: ${error.message}\n`),
  );
  for (const service of services.reverse()) await service.stop();
  await deleteStream(env.natsUrl, DEMO_STREAM);
};
process.on("SIGINT", () => void stopAll().then(() => process.exit(0)));
process.on("SIGTERM", () => void stopAll().then(() => process.exit(0)));

try {
  step("starting agent-manager, two trace-assemblers and span-poller as separate processes");
  const manager = await startService("agent-manager", {
    config: configPath,
    env: listenEnv("AGENT_MANAGER", DEMO_LISTEN.agentManager),
  });
  services.push(manager);
  for (const listen of DEMO_LISTEN.assemblers)
    services.push(
      await startService("trace-assembler", {
        config: configPath,
        env: listenEnv("TRACE_ASSEMBLER", listen),
      }),
    );
  const poller = await startService("span-poller", {
    config: configPath,
    env: {
      ...listenEnv("SPAN_POLLER", DEMO_LISTEN.spanPoller),
      DEEPTRACE__SPAN_POLLER__AGENT_MANAGER_ADDRESS: manager.grpc,
    },
  });
  services.push(poller);
  await Promise.all(services.map((s) => s.ready()));
  for (const s of services)
    process.stdout.write(
      `   ${s.name.padEnd(16)} gRPC ${s.grpc}   metrics http://${s.http}/metrics\n`,
    );

  const agentManager = createServiceClient(AgentManagerService, {
    address: manager.grpc,
    token: tokens.admin,
  });
  // Stopping the demo removes its agent: stopped, uninstalled from the host, unregistered.
  stopAgent = () => agentManager.removeAgent({ name: AGENT, uninstall: true });
  const assembler = createServiceClient(TraceAssemblerService, {
    address: services[1]?.grpc ?? "",
    token: tokens.viewer,
  });
  const spanPoller = createServiceClient(SpanPollerService, {
    address: poller.grpc,
    token: tokens.viewer,
  });

  step(
    `registering ${AGENT} on ${host.name} (${host.ip}), host key pinned to ${host.hostKeyFingerprint}`,
  );
  await agentManager.registerAgent({
    agent: {
      name: AGENT,
      host: host.ip,
      sshPort: host.port,
      user: host.user,
      privateKeyPath: host.privateKeyPath,
      hostKeyFingerprint: host.hostKeyFingerprint,
      labels: { demo: runId },
    },
  });

  step(`deploying the agent emulator to ${host.name} over SSH and starting it`);
  for await (const event of agentManager.deployAgents({
    selector: { names: [AGENT] },
    start: true,
  })) {
    if (event.event.case === "progress") {
      const p = event.event.value;
      process.stdout.write(`   ${p.agent} ${p.step}: ${p.message}\n`);
    } else if (event.event.case === "result") {
      const r = event.event.value;
      if (!r.ok) throw new Error(`deploying ${r.agent} failed at ${r.failedStep}: ${r.message}`);
    }
  }
  let lastState = "";
  await waitFor("the agent to report running", 60_000, async () => {
    const { agent } = await agentManager.getAgent({ name: AGENT });
    lastState = `${AgentState[agent?.state ?? 0]}: ${agent?.stateReason}`;
    return agent?.state === AgentState.RUNNING;
  }).catch((error: Error) => {
    throw new Error(`${error.message}; the agent reports ${lastState}`);
  });
  process.stdout.write(`   ${AGENT} is ${lastState}\n`);

  step(`waiting for the ${DATASET_SPANS} spans in spans_${AGENT}, their windows and the traces`);
  await waitFor("the agent to write every span", 120_000, async () => {
    const response = await fetch(`${env.esUrl}/spans_${AGENT}/_count`);
    return response.ok && ((await response.json()) as { count: number }).count >= DATASET_SPANS;
  });
  const traces = await waitFor("the traces to settle", 180_000, async () => {
    const status = await spanPoller.getStatus({});
    const stats = await assembler.getStats({});
    if (status.windowsPublished === 0n || stats.pendingWindows > 0n) return undefined;
    const all = await allTraces(assembler);
    const spanCount = all.reduce((n, t) => n + t.spans.length, 0);
    return spanCount >= DATASET_SPANS ? all : undefined;
  });

  const windows = await allWindowEnds(spanPoller);
  printReport({
    windowEnds: windows,
    traces,
    runId,
    agent: AGENT,
    env,
    manager,
    poller,
    assembler: services[1],
    adminTokenFile,
    viewerTokenFile,
  });

  if (values.exit) {
    await stopAll();
    process.exit(0);
  }
  process.stdout.write("\nEverything keeps running for you to explore; Ctrl-C stops it all.\n");
} catch (error) {
  process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`);
  await stopAll();
  process.exit(1);
}

/** The end of every window the poller published, ascending. */
async function allWindowEnds(poller: Client<typeof SpanPollerService>): Promise<bigint[]> {
  const ends: bigint[] = [];
  let pageToken = "";
  do {
    const page = await poller.listWindows({ pageSize: 100, pageToken });
    ends.push(...page.windows.map((w) => w.endNs));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return [...new Set(ends)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function allTraces(assembler: Client<typeof TraceAssemblerService>): Promise<Trace[]> {
  const out: Trace[] = [];
  let pageToken = "";
  do {
    const page = await assembler.searchTraces({ pageSize: 500, pageToken });
    out.push(...page.traces);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}
