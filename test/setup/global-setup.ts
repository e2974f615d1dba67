/**
 * Global setup of the `integration` project: real Elasticsearch, NATS JetStream, SSH test
 * hosts and grpcurl, never mocks.
 *
 * A server given through the environment (ES_URL, NATS_URL, DEEPTRACE_SSH_HOSTS, GRPCURL)
 * is used as it is; otherwise the idempotent scripts in scripts/infra start it (or reuse
 * the one already running) and their state files say where it is. Whatever is missing or
 * fails stops the run with an error naming it and the script to run. Servers stay up after
 * the run for fast reruns, except with CI=true, where the ones started here are stopped.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { connect } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import type { SshHost, SshHosts } from "./provided.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const cacheDir = process.env.DEEPTRACE_CACHE || join(homedir(), ".cache", "deeptrace");
const runDir = join(cacheDir, "run");
const HINT =
  "Install everything once with `scripts/infra/install-all.sh` and start the servers with " +
  "`scripts/infra/start-all.sh` (both as root), or point ES_URL, NATS_URL, " +
  "DEEPTRACE_SSH_HOSTS and GRPCURL at running ones.";

class InfrastructureError extends Error {
  constructor(what: string, detail: string) {
    super(`DeepTrace test infrastructure: cannot use ${what}: ${detail}\n${HINT}`);
    this.name = "InfrastructureError";
  }
}

/** Runs one of scripts/infra; rejects with its exit code and what it printed on stderr. */
async function runScript(script: string): Promise<void> {
  try {
    await run("bash", [join(repoRoot, "scripts", "infra", script)], {
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const failure = error as { code?: number | string; stderr?: string; message: string };
    const output = failure.stderr?.trim() || failure.message;
    throw new Error(`scripts/infra/${script} failed (exit ${failure.code ?? "?"}):\n${output}`);
  }
}

/** Runs a start script for `what`, turning a failure into an InfrastructureError. */
function start(what: string, script: string): Promise<void> {
  return runScript(script).catch((error: Error) => {
    throw new InfrastructureError(what, error.message);
  });
}

/** Reads a KEY=VALUE state file written by scripts/infra (values never need quoting). */
async function readState(what: string, file: string): Promise<Map<string, string>> {
  const text = await readFile(join(runDir, file), "utf8").catch((error: Error) => {
    throw new InfrastructureError(what, `its state file cannot be read: ${error.message}`);
  });
  const state = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) state.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return state;
}

async function stateValue(what: string, file: string, key: string): Promise<string> {
  const value = (await readState(what, file)).get(key);
  if (!value) throw new InfrastructureError(what, `${join(runDir, file)} has no ${key}`);
  return value;
}

/** Resolves with the first bytes a TCP server sends on connect (NATS and SSH greet first). */
function greeting(host: string, port: number, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString("utf8"));
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(new Error(`no greeting from ${host}:${port} within ${timeoutMs} ms`));
    });
    socket.once("error", reject);
  });
}

async function checkElasticsearch(url: string): Promise<void> {
  try {
    const response = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(10_000) });
    const health = (await response.json()) as { status?: string };
    if (!response.ok || (health.status !== "green" && health.status !== "yellow")) {
      throw new Error(`GET /_cluster/health answered ${response.status} ${JSON.stringify(health)}`);
    }
  } catch (error) {
    const cause = (error as Error).cause;
    const why = cause instanceof Error ? `${String(error)} (${cause.message})` : String(error);
    throw new InfrastructureError("Elasticsearch", `${url} is not healthy: ${why}`);
  }
}

async function checkNats(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const hello = await greeting(hostname, Number(port) || 4222).catch((error: Error) => {
    throw new InfrastructureError("NATS", `${url} does not answer: ${error.message}`);
  });
  if (!hello.startsWith("INFO ")) {
    throw new InfrastructureError("NATS", `${url} is not a NATS server (it said ${hello})`);
  }
}

function parseSshHosts(text: string, file: string): SshHosts {
  const fail = (why: string): never => {
    throw new InfrastructureError("the SSH test hosts", `${file} ${why}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`is not JSON: ${String(error)}`);
  }
  const doc = parsed as Partial<SshHosts>;
  if (doc.mode !== "netns" && doc.mode !== "loopback") fail(`has mode ${String(doc.mode)}`);
  if (typeof doc.gateway !== "string") fail("has no gateway address");
  if (!Array.isArray(doc.hosts) || doc.hosts.length === 0) fail("lists no hosts");
  const fields: (keyof SshHost)[] = [
    "name",
    "ip",
    "port",
    "hostKeyFingerprint",
    "knownHostsPath",
    "user",
    "privateKeyPath",
    "passwordFile",
    "clockShiftNs",
  ];
  for (const [i, host] of (doc.hosts ?? []).entries()) {
    const missing = fields.filter((field) => host[field] === undefined || host[field] === "");
    if (missing.length > 0) fail(`host ${i} lacks ${missing.join(", ")}`);
  }
  return doc as SshHosts;
}

async function checkSshHosts(hosts: SshHosts): Promise<void> {
  await Promise.all(
    hosts.hosts.map(async (host) => {
      const hello = await greeting(host.ip, host.port).catch((error: Error) => error.message);
      if (!hello.startsWith("SSH-2.0-")) {
        throw new InfrastructureError(
          "the SSH test hosts",
          `sshd of ${host.name} at ${host.ip}:${host.port} does not answer: ${hello}`,
        );
      }
    }),
  );
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Scripts to run after the tests on CI, for the servers this setup started or reused.
  const stopScripts: string[] = [];

  // The SSH hosts come first: Elasticsearch and NATS then also listen on their bridge.
  let sshHostsFile = process.env.DEEPTRACE_SSH_HOSTS;
  if (!sshHostsFile) {
    await start("the SSH test hosts", "setup-ssh-hosts.sh");
    stopScripts.push("teardown-ssh-hosts.sh");
    sshHostsFile = join(runDir, "ssh-hosts.json");
  }
  const sshHostsText = await readFile(sshHostsFile, "utf8").catch((error: Error) => {
    throw new InfrastructureError("the SSH test hosts", error.message);
  });
  const sshHosts = parseSshHosts(sshHostsText, sshHostsFile);

  const [esUrl, natsUrl] = await Promise.all([
    process.env.ES_URL ||
      start("Elasticsearch", "start-elasticsearch.sh").then(() => {
        stopScripts.push("stop-elasticsearch.sh");
        return stateValue("Elasticsearch", "elasticsearch.env", "ES_URL");
      }),
    process.env.NATS_URL ||
      start("NATS", "start-nats.sh").then(() => {
        stopScripts.push("stop-nats.sh");
        return stateValue("NATS", "nats.env", "NATS_URL");
      }),
  ]);

  const grpcurlPath = process.env.GRPCURL || join(cacheDir, "bin", "grpcurl");
  await access(grpcurlPath, constants.X_OK).catch(() => {
    throw new InfrastructureError("grpcurl", `${grpcurlPath} is not an executable`);
  });

  await Promise.all([checkElasticsearch(esUrl), checkNats(natsUrl), checkSshHosts(sshHosts)]);

  // Processes the tests spawn (services, CLIs, scripts) find the servers here.
  process.env.ES_URL = esUrl;
  process.env.NATS_URL = natsUrl;
  process.env.DEEPTRACE_SSH_HOSTS = sshHostsFile;
  process.env.GRPCURL = grpcurlPath;
  project.provide("esUrl", esUrl);
  project.provide("natsUrl", natsUrl);
  project.provide("sshHosts", sshHosts);
  project.provide("grpcurlPath", grpcurlPath);

  return async () => {
    if (process.env.CI !== "true") return;
    for (const script of stopScripts.reverse()) {
      await runScript(script);
    }
  };
}
