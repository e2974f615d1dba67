#!/usr/bin/env node
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AgentManagerService,
  type AgentSelector,
  type RolloutOptions,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import {
  type Agent,
  AgentProgress_Status,
  type AgentResult,
  AgentState,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import { createServiceClient } from "@deeptrace/shared/grpc/client";
import { bar, deploySteps, HostProgress } from "./progress-bar.js";

const USAGE = `usage: deeptrace-agents <command> [agent names...] [options]

commands:
  list                  agents with state, host and config hashes
  status [names...]     one block per agent: state, reason, clock offset, freshest span
  deploy [names...]     clone, install, sync config (--start: and start), with progress per host
  start|stop [names...] start or stop agents

options:
  --address HOST:PORT   agent-manager gRPC address (env DEEPTRACE_AGENT_MANAGER, default 127.0.0.1:50051)
  --token TOKEN         bearer token (env DEEPTRACE_TOKEN)
  --ca-file FILE        use TLS, checking the server against this CA
  --label KEY=VALUE     only agents with this label (repeatable)
  --concurrency N       agents worked on at once
  --batch-size N        roll out in batches of N agents
  --max-failure-ratio R stop before the next batch when more than R (0..1) failed
  --start               deploy: start the agents afterwards`;

const STATE_NAMES: Record<number, string> = {
  [AgentState.UNSPECIFIED]: "unspecified",
  [AgentState.UNKNOWN]: "unknown",
  [AgentState.DEPLOYING]: "deploying",
  [AgentState.RUNNING]: "running",
  [AgentState.DEGRADED]: "degraded",
  [AgentState.STOPPED]: "stopped",
  [AgentState.UNREACHABLE]: "unreachable",
  [AgentState.FAILED]: "failed",
};

const out = (line: string) => process.stdout.write(`${line}\n`);

function fail(message: string, code: number): never {
  process.stderr.write(`deeptrace-agents: ${message}\n`);
  process.exit(code);
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        address: { type: "string" },
        token: { type: "string" },
        "ca-file": { type: "string" },
        label: { type: "string", multiple: true },
        concurrency: { type: "string" },
        "batch-size": { type: "string" },
        "max-failure-ratio": { type: "string" },
        start: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
}

function printResults(results: AgentResult[]): boolean {
  const width = Math.max(8, ...results.map((r) => r.agent.length));
  for (const r of results) {
    out(
      `${r.agent.padEnd(width)} ${bar(r.ok ? 1 : 0, 1)} ${r.ok ? "ok" : `FAILED at ${r.failedStep}`} (${STATE_NAMES[r.state]}) ${r.message}`,
    );
  }
  return results.every((r) => r.ok);
}

function secondsAgo(ns: bigint): string {
  if (ns === 0n) return "never";
  return `${Number((BigInt(Date.now()) * 1_000_000n - ns) / 1_000_000n) / 1000} s ago`;
}

function printStatus(agent: Agent): void {
  out(`${agent.name}: ${STATE_NAMES[agent.state]} (${agent.stateReason})`);
  out(
    `  host ${agent.user}@${agent.host}:${agent.sshPort}, index ${agent.spanIndex}, api ${agent.apiUrl}`,
  );
  out(
    `  config desired ${agent.desiredConfigHash || "-"} applied ${agent.appliedConfigHash || "-"}`,
  );
  out(
    `  clock offset ${agent.clockOffsetNs} ns (measured ${secondsAgo(agent.clockOffsetMeasuredAtNs)}), freshest span ${secondsAgo(agent.lastSpanTimeNs)}`,
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parse();
  const [command, ...names] = positionals;
  if (values.help || !command) {
    out(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const labels: Record<string, string> = {};
  for (const label of values.label ?? []) {
    const at = label.indexOf("=");
    if (at <= 0) fail(`--label expects KEY=VALUE, got ${label}`, 2);
    labels[label.slice(0, at)] = label.slice(at + 1);
  }
  const selector = { names, labels } as AgentSelector;
  const rollout = {
    concurrency: Number(values.concurrency ?? 0),
    batchSize: Number(values["batch-size"] ?? 0),
    maxFailureRatio: Number(values["max-failure-ratio"] ?? 0),
  } as RolloutOptions;
  const client = createServiceClient(AgentManagerService, {
    address: values.address ?? process.env.DEEPTRACE_AGENT_MANAGER ?? "127.0.0.1:50051",
    token: values.token ?? process.env.DEEPTRACE_TOKEN,
    tls: values["ca-file"] ? { caFile: values["ca-file"] } : undefined,
  });

  let ok = true;
  switch (command) {
    case "list": {
      const { agents } = await client.listAgents({ selector });
      const width = Math.max(8, ...agents.map((a) => a.name.length));
      out(
        `${"AGENT".padEnd(width)} ${"STATE".padEnd(11)} ${"HOST".padEnd(21)} CONFIG (desired/applied)`,
      );
      for (const a of agents) {
        out(
          `${a.name.padEnd(width)} ${(STATE_NAMES[a.state] ?? "").padEnd(11)} ${`${a.host}:${a.sshPort}`.padEnd(21)} ${a.desiredConfigHash || "-"}/${a.appliedConfigHash || "-"}`,
        );
      }
      break;
    }
    case "status": {
      const { agents } = await client.listAgents({ selector });
      for (const agent of agents) printStatus(agent);
      ok = agents.every((a) => a.state === AgentState.RUNNING);
      break;
    }
    case "deploy": {
      const { agents } = await client.listAgents({ selector });
      const progress = new HostProgress(
        deploySteps(values.start ?? false),
        agents.map((a) => a.name),
      );
      const results: AgentResult[] = [];
      for await (const event of client.deployAgents({
        selector,
        rollout,
        start: values.start ?? false,
      })) {
        if (event.event.case === "progress") {
          const p = event.event.value;
          const status = (
            {
              [AgentProgress_Status.STARTED]: "started",
              [AgentProgress_Status.SUCCEEDED]: "succeeded",
              [AgentProgress_Status.FAILED]: "failed",
              [AgentProgress_Status.SKIPPED]: "skipped",
            } as const
          )[p.status as number];
          if (status) out(progress.line(p.agent, p.step, status, p.message));
        } else if (event.event.case === "result") {
          results.push(event.event.value);
        }
      }
      out("");
      ok = printResults(results);
      break;
    }
    case "start":
      ok = printResults((await client.startAgents({ selector, rollout })).results);
      break;
    case "stop":
      ok = printResults((await client.stopAgents({ selector, rollout })).results);
      break;
    default:
      fail(`unknown command ${command}\n${USAGE}`, 2);
  }
  process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
  if (error instanceof ConnectError) fail(`${error.rawMessage} (${Code[error.code]})`, 3);
  fail((error as Error).message, 3);
});
