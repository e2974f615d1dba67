import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type DeployAgentsResponse,
  DeployAgentsResponseSchema,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import {
  type Agent,
  AgentProgress_Status,
  AgentSchema,
  AgentState,
  type AgentStateChange,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  esUrl,
  grpcurlPath,
  type SshHost,
  sshHosts,
  sshPassword,
  urlForHosts,
} from "../support/infrastructure.js";
import { homeOf, userIds } from "../support/local-user.js";
import { type RunningService, startService } from "../support/service-process.js";
import { authToml, clients, TOKENS } from "./support/api-clients.js";
import { publishEmulator } from "./support/emulator-repo.js";
import { ProcessSampler } from "./support/process-sampler.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const RUN = randomBytes(3).toString("hex");
const PREFIX = `amtest${RUN}`;
/** Agent REST API port of this run: other runs (or a demo) may have agents on the same hosts. */
const API_PORT = 20000 + (Number.parseInt(RUN, 16) % 9000);
const dir = mkdtempSync(join(tmpdir(), "deeptrace-am-"));

let hosts: SshHost[];
let names: string[];
let bad: string;
let down: string;
let extra: string;
let service: RunningService;
let api: ReturnType<typeof clients>;
let password: string;
let sampler: ProcessSampler;
/** Every API response of the test, as JSON, to check no secret is in one. */
const responses: string[] = [];

function host(i: number): SshHost {
  const h = hosts[i];
  if (!h) throw new Error(`test host ${i} is missing`);
  return h;
}

function nameOf(i: number): string {
  const name = names[i];
  if (!name) throw new Error(`agent ${i} is missing`);
  return name;
}

async function es(path: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(`${esUrl()}${path}`, {
    ...init,
    headers: { "content-type": "application/json", ...init.headers },
  });
  return response.json();
}

async function spanCount(index: string): Promise<number> {
  await es(`/${index}/_refresh`, { method: "POST" });
  const body = (await es(`/${index}/_count`)) as { count?: number };
  return body.count ?? 0;
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last: ${JSON.stringify(last, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`,
      );
    await new Promise((r) => setTimeout(r, 500));
    last = await probe();
  }
  return last;
}

async function getAgent(name: string): Promise<Agent> {
  const { agent } = await api.viewer.getAgent({ name });
  if (!agent) throw new Error(`no agent ${name}`);
  responses.push(JSON.stringify(toJson(AgentSchema, agent)));
  return agent;
}

async function emulatorStatus(
  host: SshHost,
): Promise<{ pid: number; index: string; speed: number; config_hash: string }> {
  const response = await fetch(`http://${host.ip}:${API_PORT}/api/status`, {
    signal: AbortSignal.timeout(3000),
  });
  return (await response.json()) as {
    pid: number;
    index: string;
    speed: number;
    config_hash: string;
  };
}

/** Collects the state changes of some agents from WatchAgents until stopped. */
function watchStates(selected: string[]): {
  changes: AgentStateChange[];
  stop: () => Promise<void>;
} {
  const abort = new AbortController();
  const changes: AgentStateChange[] = [];
  const watching = (async () => {
    for await (const { change } of api.viewer.watchAgents(
      { selector: { names: selected } },
      { signal: abort.signal },
    )) {
      if (change) changes.push(change);
    }
  })().catch((error: unknown) => {
    if (ConnectError.from(error).code !== Code.Canceled) throw error;
  });
  return {
    changes,
    stop: async () => {
      abort.abort();
      await watching;
    },
  };
}

async function codeOf(call: () => Promise<unknown>): Promise<Code | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

beforeAll(async () => {
  hosts = sshHosts().hosts.slice(0, 3);
  expect(hosts).toHaveLength(3);
  names = hosts.map((_, i) => `am${RUN}h${i + 1}`);
  bad = `am${RUN}badkey`;
  down = `am${RUN}down`;
  extra = `am${RUN}extra`;
  password = sshPassword(host(1));
  const repo = publishEmulator(dir, userIds(host(0).user));
  const dataset = join(dir, "rps100-spans.json");
  copyFileSync(
    fileURLToPath(new URL("../../../shared/data/rps100-spans.json", import.meta.url)),
    dataset,
  );

  const agentToml = (host: SshHost, i: number) => {
    const auth =
      i === 1
        ? `host_password = "file:${host.passwordFile}"\nsudo = true\nhost_key_fingerprint = "${host.hostKeyFingerprint}"`
        : i === 0
          ? `private_key_path = "${host.privateKeyPath}"\nhost_key_fingerprint = "${host.hostKeyFingerprint}"`
          : `private_key_path = "${host.privateKeyPath}"`;
    return `[[agents]]\n[agents.agent_info]\nagent_name = "${names[i]}"\nuser_name = "${host.user}"\nhost_ip = "${host.ip}"\nssh_port = ${host.port}\n${auth}\nlabels = { run = "${RUN}", role = "${i === 2 ? "known-hosts" : "pinned"}" }\n`;
  };
  const config = join(dir, "agent-manager.toml");
  writeFileSync(
    config,
    `${authToml()}
[log]
level = "debug"

[elastic]
url = "${esUrl()}"
index_prefix = "${PREFIX}"

[agent_manager]
probe_interval_ms = 2000
api_timeout_ms = 1500
ssh_connect_timeout_ms = 6000
known_hosts_file = "${host(2).knownHostsPath}"
agent_elastic_url = "${urlForHosts(esUrl())}"

[agent_manager.agent_defaults]
api_port = ${API_PORT}

[agent_manager.agent_defaults.source]
repository_url = "${repo.url}"
ref = "${repo.commit}"

[agent_manager.agent_defaults.emulator]
dataset = "${dataset}"
speed = 0.05

${hosts.map(agentToml).join("\n")}`,
  );
  sampler = new ProcessSampler();
  service = await startService("agent-manager", { config });
  api = clients(service.grpc);
  await eventually(
    "the registry to attach",
    async () => service.output.some((l) => l.includes("agent registry attached")),
    Boolean,
  );
}, 120_000);

afterAll(async () => {
  await sampler?.stop();
  if (api) await api.operator.stopAgents({ selector: { names } }).catch(() => undefined);
  await service?.stop();
  const home = hosts?.[0] && homeOf(hosts[0].user);
  if (home)
    for (const name of [...(names ?? []), bad, down, extra]) {
      const installDir = join(home, "deeptrace-agents", name);
      // An emulator this test started is left only when a test failed before stopping it.
      const pidFile = join(installDir, "agent.pid");
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
      if (pid > 0 && existsSync(`/proc/${pid}`)) {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("agent.mjs"))
          process.kill(pid, "SIGKILL");
      }
      rmSync(installDir, { recursive: true, force: true });
    }
  // Elasticsearch refuses wildcard deletes: resolve the names first.
  const indices = (await es(`/_cat/indices/${PREFIX}-*,spans_am${RUN}*?format=json&h=index`).catch(
    () => [],
  )) as { index: string }[];
  for (const { index } of indices)
    await es(`/${index}`, { method: "DELETE" }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("agent-manager over real SSH hosts", () => {
  it("rejects unauthenticated and under-privileged calls", async () => {
    expect(await codeOf(() => api.anonymous.listAgents({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(() => api.viewer.startAgents({ selector: { names } }))).toBe(
      Code.PermissionDenied,
    );
    expect(
      await codeOf(async () => {
        for await (const _ of api.viewer.deployAgents({ selector: { names } })) break;
      }),
    ).toBe(Code.PermissionDenied);
    expect(await codeOf(() => api.operator.registerAgent({ agent: { name: "nope" } }))).toBe(
      Code.PermissionDenied,
    );
    const { agents } = await api.viewer.listAgents({ selector: { labels: { run: RUN } } });
    expect(agents.map((a) => a.name)).toEqual([...names].sort());
  });

  it("registers agents at run time with secrets by reference only", async () => {
    const h = host(0);
    const literal = await codeOf(() =>
      api.admin.registerAgent({
        agent: { name: bad, host: h.ip, sshPort: h.port, user: h.user, passwordRef: "hunter2" },
      }),
    );
    expect(literal).toBe(Code.InvalidArgument);
    const registered = await api.admin.registerAgent({
      agent: {
        name: bad,
        host: h.ip,
        sshPort: h.port,
        user: h.user,
        privateKeyPath: h.privateKeyPath,
        hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        labels: { run: RUN },
      },
    });
    responses.push(JSON.stringify(registered.agent && toJson(AgentSchema, registered.agent)));
    const downIp = h.ip.replace(/\.\d+$/, ".99");
    await api.admin.registerAgent({
      agent: {
        name: down,
        host: downIp,
        sshPort: 22,
        user: h.user,
        passwordRef: `file:${h.passwordFile}`,
        labels: { run: RUN },
      },
    });
    // Checked against the known_hosts file (no pinned key); not labelled for the main rollout.
    await api.admin.registerAgent({
      agent: {
        name: extra,
        host: host(2).ip,
        sshPort: host(2).port,
        user: host(2).user,
        privateKeyPath: host(2).privateKeyPath,
        apiPort: API_PORT + 1,
        labels: { extra: RUN },
      },
    });
    expect(
      await codeOf(() =>
        api.admin.registerAgent({
          agent: { name: down, host: downIp, user: "x", passwordRef: `file:${h.passwordFile}` },
        }),
      ),
    ).toBe(Code.AlreadyExists);
    expect(await codeOf(() => api.admin.removeAgent({ name: nameOf(0) }))).toBe(
      Code.FailedPrecondition,
    );
    const updated = await api.admin.updateAgent({
      agent: {
        name: down,
        host: downIp,
        sshPort: 22,
        user: h.user,
        passwordRef: `file:${h.passwordFile}`,
        labels: { run: RUN, rack: "r9" },
      },
    });
    expect(updated.agent?.labels).toEqual({ run: RUN, rack: "r9" });
    expect(
      (await api.viewer.listAgents({ selector: { labels: { rack: "r9" } } })).agents.map(
        (a) => a.name,
      ),
    ).toEqual([down]);
    expect(
      await codeOf(() =>
        api.admin.updateAgent({
          agent: { name: nameOf(0), host: h.ip, user: h.user, privateKeyPath: h.privateKeyPath },
        }),
      ),
    ).toBe(Code.FailedPrecondition);
    expect(
      await codeOf(() =>
        api.admin.updateAgent({
          agent: { name: "nobody", host: "h", user: "u", privateKeyPath: "/k" },
        }),
      ),
    ).toBe(Code.NotFound);
    const doc = (await es(`/${PREFIX}-agents/_doc/${down}`)) as {
      _source: Record<string, unknown>;
    };
    expect(doc._source.password_ref).toBe(`file:${h.passwordFile}`);
    expect(JSON.stringify(doc)).not.toContain(password);
  });

  it("deploys and starts the emulator on all hosts in parallel, refusing a wrong host key and reporting a down host", async () => {
    const watcher = watchStates(names);
    await eventually(
      "the watch snapshot",
      async () => watcher.changes.length,
      (n) => n === names.length,
    );
    const events: DeployAgentsResponse[] = [];
    const started = Date.now();
    for await (const event of api.operator.deployAgents({
      selector: { labels: { run: RUN } },
      rollout: { concurrency: 8 },
      start: true,
    })) {
      events.push(event);
      responses.push(JSON.stringify(toJson(DeployAgentsResponseSchema, event)));
    }
    const seconds = (Date.now() - started) / 1000;
    const results = new Map(
      events.flatMap((e) =>
        e.event.case === "result" ? [[e.event.value.agent, e.event.value]] : [],
      ),
    );
    for (const name of names) {
      expect(results.get(name), `${name}: ${results.get(name)?.message}`).toMatchObject({
        ok: true,
      });
    }
    // The three hosts were worked on at once: every one connected before any finished installing.
    const progress = events.flatMap((e) => (e.event.case === "progress" ? [e.event.value] : []));
    const lastConnect = Math.max(
      ...names.map((n) =>
        progress.findIndex(
          (p) => p.agent === n && p.step === "connect" && p.status === AgentProgress_Status.STARTED,
        ),
      ),
    );
    const firstInstalled = progress.findIndex(
      (p) =>
        names.includes(p.agent) &&
        p.step === "install" &&
        p.status === AgentProgress_Status.SUCCEEDED,
    );
    expect(lastConnect).toBeLessThan(firstInstalled);
    expect(
      progress.some(
        (p) => p.status === AgentProgress_Status.LOG && p.message.includes("agent emulator ready"),
      ),
    ).toBe(true);

    const refused = results.get(bad);
    expect(refused).toMatchObject({ ok: false, failedStep: "connect", state: AgentState.FAILED });
    expect(refused?.message).toContain(`agent ${bad}: connect failed`);
    expect(refused?.message).toContain("host key mismatch");
    // Refused during the handshake: nothing ran there, not even the clone.
    expect(progress.filter((p) => p.agent === bad).map((p) => p.step)).toEqual([
      "connect",
      "connect",
    ]);
    expect(existsSync(join(homeOf(host(0).user), "deeptrace-agents", bad))).toBe(false);

    const unreachable = results.get(down);
    expect(unreachable).toMatchObject({
      ok: false,
      failedStep: "connect",
      state: AgentState.UNREACHABLE,
    });
    expect(unreachable?.message).toContain(`agent ${down}: connect failed`);
    expect(seconds).toBeLessThan(90);
    // Each host went through deploying to running, in that order.
    await watcher.stop();
    for (const name of names) {
      const seen = watcher.changes.filter((c) => c.agent === name);
      const states = seen.map((c) => c.state);
      const history = seen.map((c) => `${AgentState[c.state]}: ${c.reason}`).join(" | ");
      expect(states.slice(states.indexOf(AgentState.DEPLOYING)), `${name}: ${history}`).toEqual([
        AgentState.DEPLOYING,
        AgentState.RUNNING,
      ]);
    }
  }, 180_000);

  it("reports each started agent running, with its host clock offset, and its spans in spans_<agent>", async () => {
    for (const name of names) {
      const agent = await eventually(
        `${name} running`,
        () => getAgent(name),
        (a) => a.state === AgentState.RUNNING,
      );
      expect(agent.appliedConfigHash).toBe(agent.desiredConfigHash);
      expect(agent.spanIndex).toBe(`spans_${name}`);
      // Hosts are namespaces of this machine: their monotonic clock is ours, shifted by
      // the host's time namespace.
      const shift = BigInt(hosts[names.indexOf(name)]?.clockShiftNs ?? "unknown host");
      const local = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint() - shift;
      const diffMs = Number(agent.clockOffsetNs - local) / 1e6;
      expect(Math.abs(diffMs)).toBeLessThan(50);
      await eventually(
        `spans in spans_${name}`,
        () => spanCount(`spans_${name}`),
        (n) => n > 0,
      );
      const withSpan = await eventually(
        `${name} freshest span`,
        () => getAgent(name),
        (a) => a.lastSpanTimeNs > 0n,
      );
      const ageMs = Number(BigInt(Date.now()) * 1_000_000n - withSpan.lastSpanTimeNs) / 1e6;
      expect(ageMs).toBeGreaterThan(-1000);
      expect(ageMs).toBeLessThan(60_000);
    }
    expect((await getAgent(down)).state).toBe(AgentState.UNREACHABLE);
    expect((await getAgent(bad)).state).toBe(AgentState.FAILED);
  }, 120_000);

  it("reports a frozen agent degraded and a killed one failed, and a restart brings it back", async () => {
    const frozen = await emulatorStatus(host(0));
    process.kill(frozen.pid, "SIGSTOP");
    try {
      const degraded = await eventually(
        `${nameOf(0)} degraded`,
        () => getAgent(nameOf(0)),
        (a) => a.state === AgentState.DEGRADED,
      );
      expect(degraded.stateReason).toContain("REST API does not answer");
    } finally {
      process.kill(frozen.pid, "SIGCONT");
    }
    await eventually(
      `${nameOf(0)} running again`,
      () => getAgent(nameOf(0)),
      (a) => a.state === AgentState.RUNNING,
    );

    const killed = await emulatorStatus(host(2));
    process.kill(killed.pid, "SIGKILL");
    const failed = await eventually(
      `${nameOf(2)} failed`,
      () => getAgent(nameOf(2)),
      (a) => a.state === AgentState.FAILED,
    );
    expect(failed.stateReason).toBe("the agent process is not running although it was started");
    const { results } = await api.operator.restartAgents({ selector: { names: [nameOf(2)] } });
    expect(results[0], results[0]?.message).toMatchObject({ ok: true, state: AgentState.RUNNING });
    expect((await emulatorStatus(host(2))).pid).not.toBe(killed.pid);
  }, 90_000);

  it("hot-updates the config through the agent REST API: the index and rate change without a restart", async () => {
    const before = await Promise.all(hosts.map(emulatorStatus));
    for (const name of names) {
      const { results } = await api.operator.updateConfig({
        selector: { names: [name] },
        configPatchJson: JSON.stringify({
          sender: { index_name: `spans_${name}_v2` },
          emulator: { speed: 0.1 },
        }),
      });
      expect(results[0], results[0]?.message).toMatchObject({ ok: true });
      expect(results[0]?.message).toContain("applied live through the REST API");
    }
    const after = await Promise.all(hosts.map(emulatorStatus));
    hosts.forEach((_, i) => {
      expect(after[i]?.pid).toBe(before[i]?.pid);
      expect(after[i]?.index).toBe(`spans_${names[i]}_v2`);
      expect(after[i]?.speed).toBe(0.1);
    });
    for (const [i, name] of names.entries()) {
      await eventually(
        `spans in spans_${name}_v2`,
        () => spanCount(`spans_${name}_v2`),
        (n) => n > 0,
      );
      const agent = await eventually(
        `${name} config applied`,
        () => getAgent(name),
        (a) => a.appliedConfigHash === a.desiredConfigHash && a.state === AgentState.RUNNING,
      );
      expect(agent.spanIndex).toBe(`spans_${name}_v2`);
      expect(agent.appliedConfigHash).toBe(after[i]?.config_hash);
      const { configToml } = await api.viewer.getAgentConfig({ name });
      expect(configToml).toContain(`index_name = "spans_${name}_v2"`);
      expect(configToml).toContain("speed = 0.1");
    }
  }, 120_000);

  it("stops the agents, streaming the state changes to a watcher", async () => {
    const watcher = watchStates(names);
    const changes = watcher.changes;
    const pids = (await Promise.all(hosts.map(emulatorStatus))).map((s) => s.pid);
    const { results } = await api.operator.stopAgents({ selector: { names } });
    expect(results.map((r) => [r.agent, r.ok, r.state])).toEqual(
      names.map((n) => [n, true, AgentState.STOPPED]),
    );
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    await eventually(
      "stop changes watched",
      async () => changes.length,
      () =>
        names.every((n) =>
          changes.some(
            (c) =>
              c.agent === n &&
              c.state === AgentState.STOPPED &&
              c.previousState === AgentState.RUNNING,
          ),
        ),
    );
    await watcher.stop();
    // The first message of a watch is the current state of each agent.
    expect(changes.slice(0, 3).map((c) => c.state)).toEqual([
      AgentState.RUNNING,
      AgentState.RUNNING,
      AgentState.RUNNING,
    ]);
    const counts = await Promise.all(names.map((n) => spanCount(`spans_${n}_v2`)));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await Promise.all(names.map((n) => spanCount(`spans_${n}_v2`)))).toEqual(counts);
    const history = (await es(`/${PREFIX}-agent-state-history/_search?size=100`, {
      method: "GET",
    })) as { hits: { hits: { _source: { agent: string; state: string } }[] } };
    expect(
      history.hits.hits.some((h) => h._source.agent === names[0] && h._source.state === "stopped"),
    ).toBe(true);
  }, 60_000);

  it("never shows the sudo password in a process list, log line, Elasticsearch document or API response", async () => {
    await sampler.stop();
    expect(sampler.samples).toBeGreaterThan(10);
    const psLines = [...sampler.lines];
    // sudo ran while the process table was sampled, and only ever with -S (password on stdin).
    expect(psLines.some((l) => l.startsWith("sudo -k -S -p"))).toBe(true);
    expect(psLines.filter((l) => l.includes(password))).toEqual([]);
    expect(service.output.filter((l) => l.includes(password))).toEqual([]);
    await es(`/${PREFIX}-*/_refresh`, { method: "POST" });
    const docs = await es(`/${PREFIX}-*/_search?size=1000`);
    expect(JSON.stringify(docs)).toContain(names[1]);
    expect(JSON.stringify(docs)).not.toContain(password);
    expect(responses.join("\n")).not.toContain(password);
    const audit = (await es(`/${PREFIX}-audit/_search?size=100`)) as {
      hits: { hits: { _source: { method: string; principal: string; target?: string } }[] };
    };
    const records = audit.hits.hits.map((h) => h._source);
    expect(records.map((r) => `${r.method}:${r.principal}`)).toEqual(
      expect.arrayContaining([
        "DeployAgents:operator",
        "RegisterAgent:admin",
        "StopAgents:operator",
        "UpdateConfig:operator",
      ]),
    );
    // Each names what it acted on.
    expect(records.find((r) => r.method === "DeployAgents")?.target).toMatch(/^agents=am/);
    expect(records.find((r) => r.method === "RegisterAgent")?.target).toMatch(/^agent=/);
  });

  it("syncs a config change to a stopped agent for its next start, which runs with it", async () => {
    const { results } = await api.operator.updateConfig({
      selector: { names: [nameOf(0)] },
      configPatchJson: JSON.stringify({ emulator: { speed: 0.2 } }),
    });
    expect(results[0], results[0]?.message).toMatchObject({ ok: true });
    expect(results[0]?.message).toContain("config file synced for the next start");
    const started = await api.operator.startAgents({ selector: { names: [nameOf(0)] } });
    expect(started.results[0], started.results[0]?.message).toMatchObject({
      ok: true,
      state: AgentState.RUNNING,
    });
    const status = await emulatorStatus(host(0));
    expect([status.index, status.speed]).toEqual([`spans_${nameOf(0)}_v2`, 0.2]);
    const stopped = await api.operator.stopAgents({ selector: { names: [nameOf(0)] } });
    expect(stopped.results[0]?.ok).toBe(true);
    const synced = await api.operator.syncConfig({ selector: { names: [nameOf(0)] } });
    expect(synced.results[0], synced.results[0]?.message).toMatchObject({ ok: true });
    expect(synced.results[0]?.message).toContain("mode 0600");
    expect(
      await codeOf(() =>
        api.operator.updateConfig({
          selector: { names: [nameOf(0)] },
          configPatchJson: '{"api":{"port":1}}',
        }),
      ),
    ).toBe(Code.InvalidArgument);
  }, 60_000);

  it("tests connectivity including sudo with the hostile password, and stops a batched rollout above its failure ratio", async () => {
    const { results } = await api.operator.testConnectivity({
      selector: { names: [nameOf(1), bad] },
    });
    expect(results[0], results[0]?.message).toMatchObject({ ok: true });
    expect(results[0]?.message).toContain("sudo works");
    expect(results[1]).toMatchObject({ ok: false, failedStep: "connect" });

    const events: DeployAgentsResponse[] = [];
    for await (const event of api.operator.deployAgents({
      selector: { names: [bad, down, extra] },
      rollout: { batchSize: 1, maxFailureRatio: 0.5 },
    })) {
      events.push(event);
    }
    const results2 = events.flatMap((e) => (e.event.case === "result" ? [e.event.value] : []));
    expect(results2.map((r) => [r.agent, r.ok, r.failedStep])).toEqual([
      [bad, false, "connect"],
      [down, false, "rollout"],
      [extra, false, "rollout"],
    ]);
    expect(results2[1]?.message).toContain("rollout stopped after batch 1");
    const skipped = events.flatMap((e) =>
      e.event.case === "progress" && e.event.value.status === AgentProgress_Status.SKIPPED
        ? [e.event.value]
        : [],
    );
    expect(skipped.map((p) => [p.agent, p.batch])).toEqual([
      [down, 2],
      [extra, 3],
    ]);
  }, 60_000);

  it("serves the deeptrace-agents CLI and the grpcurl walkthrough", async () => {
    const cli = await run(
      process.execPath,
      [
        join(repoRoot, "services/agent-manager/dist/cli/deeptrace-agents.js"),
        "list",
        "--address",
        service.grpc,
        "--label",
        `run=${RUN}`,
      ],
      {
        env: { ...process.env, DEEPTRACE_TOKEN: TOKENS.viewer },
      },
    );
    for (const name of names) expect(cli.stdout).toMatch(new RegExp(`${name}\\s+stopped`));
    expect(cli.stdout).toMatch(new RegExp(`${down}\\s+unreachable`));

    const metrics = await (await fetch(`http://${service.http}/metrics`)).text();
    // h1-h3 stopped, the undeployed extra agent too; the bad key failed, the down host unreachable.
    expect(metrics).toContain('deeptrace_agents{state="stopped",service="agent-manager"} 4');
    expect(metrics).toContain('deeptrace_agents{state="failed",service="agent-manager"} 1');
    expect(metrics).toContain('deeptrace_agents{state="unreachable",service="agent-manager"} 1');
    expect(metrics).toMatch(
      /deeptrace_agent_operations_total\{operation="deploy_and_start",outcome="ok",failed_step="",service="agent-manager"\} 3/,
    );
    expect(metrics).toMatch(
      /deeptrace_agent_operations_total\{operation="deploy_and_start",outcome="failed",failed_step="connect",service="agent-manager"\} 2/,
    );

    // Dozens of operations and probes per host went over one pooled connection (two at most).
    for (const name of names) {
      const opened = new RegExp(
        `deeptrace_ssh_connections_total\\{agent="${name}",outcome="opened",service="agent-manager"\\} (\\d+)`,
      ).exec(metrics);
      expect(Number(opened?.[1]), name).toBeGreaterThanOrEqual(1);
      expect(Number(opened?.[1]), name).toBeLessThanOrEqual(2);
    }
    expect(metrics).toContain(
      `deeptrace_ssh_connections_total{agent="${bad}",outcome="host_key",service="agent-manager"}`,
    );

    const walkthrough = await run(
      "bash",
      [join(repoRoot, "test/agent-manager/grpcurl-walkthrough.sh")],
      {
        env: {
          ...process.env,
          GRPCURL: grpcurlPath(),
          ADDRESS: service.grpc,
          TOKEN: TOKENS.operator,
          AGENT: nameOf(0),
        },
        timeout: 120_000,
      },
    );
    expect(walkthrough.stdout).toContain("deeptrace.agent.v1.AgentManagerService");
    expect(walkthrough.stdout).toContain(
      "rpc DeployAgents ( .deeptrace.agent.v1.DeployAgentsRequest ) returns ( stream .deeptrace.agent.v1.DeployAgentsResponse );",
    );
    expect(walkthrough.stdout).toContain('"step": "sync_config"');
    expect(walkthrough.stdout).toContain('"ok": true');
    expect(walkthrough.stdout).toContain(`"name": "${names[0]}"`);
    expect(walkthrough.stdout).not.toContain(password);
  }, 150_000);

  it("removes an API-registered agent, uninstalling it from its host", async () => {
    const events: DeployAgentsResponse[] = [];
    for await (const event of api.operator.deployAgents({ selector: { names: [extra] } }))
      events.push(event);
    const deployed = events.flatMap((e) => (e.event.case === "result" ? [e.event.value] : []));
    expect(deployed[0], deployed[0]?.message).toMatchObject({
      ok: true,
      state: AgentState.STOPPED,
    });
    const installDir = join(homeOf(host(2).user), "deeptrace-agents", extra);
    // Written over SFTP with mode 0600 (it may hold the Elasticsearch password).
    expect(statSync(join(installDir, "agent.toml")).mode & 0o777).toBe(0o600);
    const { result } = await api.admin.removeAgent({ name: extra, uninstall: true });
    expect(result, result?.message).toMatchObject({ ok: true });
    expect(existsSync(installDir)).toBe(false);
    expect(await codeOf(() => api.viewer.getAgent({ name: extra }))).toBe(Code.NotFound);
  }, 60_000);

  it("removes an API-registered agent from the inventory and the registry", async () => {
    const { result } = await api.admin.removeAgent({ name: bad, uninstall: false });
    expect(result?.ok).toBe(true);
    expect(await codeOf(() => api.viewer.getAgent({ name: bad }))).toBe(Code.NotFound);
    const doc = (await es(`/${PREFIX}-agents/_doc/${bad}`)) as { found: boolean };
    expect(doc.found).toBe(false);
  });
});
