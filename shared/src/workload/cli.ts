#!/usr/bin/env node
/**
 * deeptrace workload generator CLI.
 *
 *   node shared/dist/workload/cli.js --topology fanout --concurrency 500 --requests 20000 \
 *     --seed 1 --hosts 3 --transaction-fields on --out DIR
 *
 * Writes DIR/spans.ndjson, DIR/ground-truth.ndjson and DIR/manifest.json.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WorkloadOptionError, type WorkloadOptions } from "./options.js";
import { TOPOLOGY_NAMES, type TopologyName } from "./topology.js";
import { writeWorkload } from "./writer.js";

const USAGE = `Usage: generate-workload --out DIR [options]

Simulates microservice traffic as DeepTrace eBPF agents capture it and writes it in the
agent's Elasticsearch document format, with ground truth and a manifest.

  --out DIR                  output directory (required)
  --topology NAME            ${TOPOLOGY_NAMES.join(" | ")} (default mixed)
  --concurrency N            requests in flight (closed loop), or the cap with --rate (default 50)
  --rate R                   open loop: Poisson arrivals, requests per second
  --requests N               requests to send (default 1000 unless --duration is given)
  --duration SEC             stop sending after SEC simulated seconds
  --seed S                   integer or string; same seed, same bytes (default 1)
  --hosts N                  hosts, one agent each (default 3)
  --transaction-fields on|off  ids and arguments propagated in payloads (default on)
  --request-id on|off        X-Request-Id header on HTTP requests (default on)
  --replicas N               instances of each HTTP service (default 1)
  --max-idle N               idle keep-alive connections per process and target (default 64)
  --think-time-us US         closed loop: mean pause between a client's requests (default 0)
  --latency-us US            median one-way latency between hosts (default 150)
  --clock-error-us US        error of the recorded clock offsets (default 0)
  --health-check-ms MS       health-check interval per HTTP instance, 0 = none (default 1000)
  --max-payload BYTES        captured payload limit per direction (default 1024)
  --start-time ISO           wall clock at the start (default 2025-05-15T05:13:36.000Z)
  --quiet                    print nothing on success
  -h, --help                 this help
`;

const FLAG_OF: Record<keyof WorkloadOptions, string> = {
  topology: "--topology",
  concurrency: "--concurrency",
  rate: "--rate",
  requests: "--requests",
  durationSec: "--duration",
  seed: "--seed",
  hosts: "--hosts",
  transactionFields: "--transaction-fields",
  requestIdHeader: "--request-id",
  replicas: "--replicas",
  maxIdlePerTarget: "--max-idle",
  thinkTimeUs: "--think-time-us",
  startTime: "--start-time",
  networkLatencyUs: "--latency-us",
  clockOffsetErrorUs: "--clock-error-us",
  healthCheckIntervalMs: "--health-check-ms",
  maxPayloadBytes: "--max-payload",
};

export class UsageError extends Error {}

function num(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v))
    throw new UsageError(`${flag}: not a number: ${JSON.stringify(text)}`);
  return v;
}

function onOff(flag: string, text: string): boolean {
  const t = text.toLowerCase();
  if (["on", "true", "yes", "1"].includes(t)) return true;
  if (["off", "false", "no", "0"].includes(t)) return false;
  throw new UsageError(`${flag}: expected on or off, got ${JSON.stringify(text)}`);
}

export interface CliArgs {
  out: string;
  options: Partial<WorkloadOptions>;
  quiet: boolean;
  help: boolean;
}

/** Parses argv (without node and script); throws UsageError naming the flag. */
export function parseCliArgs(argv: string[]): CliArgs {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: "string" },
        topology: { type: "string" },
        concurrency: { type: "string" },
        rate: { type: "string" },
        requests: { type: "string" },
        duration: { type: "string" },
        seed: { type: "string" },
        hosts: { type: "string" },
        "transaction-fields": { type: "string" },
        "request-id": { type: "string" },
        replicas: { type: "string" },
        "max-idle": { type: "string" },
        "think-time-us": { type: "string" },
        "latency-us": { type: "string" },
        "clock-error-us": { type: "string" },
        "health-check-ms": { type: "string" },
        "max-payload": { type: "string" },
        "start-time": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  }
  try {
    parsed = parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { out: "", options: {}, quiet: false, help: true };
  if (v.out === undefined || v.out === "")
    throw new UsageError("--out: required (output directory)");
  const o: Partial<WorkloadOptions> = {};
  if (v.topology !== undefined) {
    if (!TOPOLOGY_NAMES.includes(v.topology as TopologyName)) {
      throw new UsageError(
        `--topology: expected one of ${TOPOLOGY_NAMES.join(", ")}, got ${JSON.stringify(v.topology)}`,
      );
    }
    o.topology = v.topology as TopologyName;
  }
  if (v.concurrency !== undefined) o.concurrency = num("--concurrency", v.concurrency);
  if (v.rate !== undefined) o.rate = num("--rate", v.rate);
  if (v.requests !== undefined) o.requests = num("--requests", v.requests);
  if (v.duration !== undefined) o.durationSec = num("--duration", v.duration);
  if (v.seed !== undefined) o.seed = /^-?\d+$/.test(v.seed) ? Number(v.seed) : v.seed;
  if (v.hosts !== undefined) o.hosts = num("--hosts", v.hosts);
  if (v["transaction-fields"] !== undefined)
    o.transactionFields = onOff("--transaction-fields", v["transaction-fields"]);
  if (v["request-id"] !== undefined) o.requestIdHeader = onOff("--request-id", v["request-id"]);
  if (v.replicas !== undefined) o.replicas = num("--replicas", v.replicas);
  if (v["max-idle"] !== undefined) o.maxIdlePerTarget = num("--max-idle", v["max-idle"]);
  if (v["think-time-us"] !== undefined) o.thinkTimeUs = num("--think-time-us", v["think-time-us"]);
  if (v["latency-us"] !== undefined) o.networkLatencyUs = num("--latency-us", v["latency-us"]);
  if (v["clock-error-us"] !== undefined)
    o.clockOffsetErrorUs = num("--clock-error-us", v["clock-error-us"]);
  if (v["health-check-ms"] !== undefined)
    o.healthCheckIntervalMs = num("--health-check-ms", v["health-check-ms"]);
  if (v["max-payload"] !== undefined) o.maxPayloadBytes = num("--max-payload", v["max-payload"]);
  if (v["start-time"] !== undefined) o.startTime = v["start-time"];
  return { out: v.out, options: o, quiet: v.quiet ?? false, help: false };
}

/** Runs the CLI; returns the process exit code (0 ok, 2 usage error, 1 failure). */
export interface TextSink {
  write(text: string): unknown;
}

export function main(
  argv: string[],
  stdout: TextSink = process.stdout,
  stderr: TextSink = process.stderr,
): number {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    stderr.write(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    stdout.write(USAGE);
    return 0;
  }
  try {
    const started = performance.now();
    const manifest = writeWorkload(args.options, args.out);
    if (!args.quiet) {
      const s = manifest.stats;
      const secs = (performance.now() - started) / 1000;
      stdout.write(
        `wrote ${s.spans} spans of ${s.requestsCompleted} requests (${manifest.agents.length} agents, ` +
          `in flight mean ${s.inFlight.mean.toFixed(1)} max ${s.inFlight.max}) to ${args.out} in ${secs.toFixed(1)} s\n`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof WorkloadOptionError) {
      stderr.write(`error: ${FLAG_OF[err.option]}: ${err.message.slice(err.option.length + 2)}\n`);
      return 2;
    }
    stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = main(process.argv.slice(2));
