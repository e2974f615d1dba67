import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Config } from "@deeptrace/shared/config/schema";
import {
  AgentManagerService,
  type AgentSelector,
  type DeployAgentsResponse,
  DeployAgentsResponseSchema,
  type RolloutOptions as RolloutMessage,
  type WatchAgentsResponse,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import {
  AgentProgress_Status,
  type AgentResult,
  AgentResultSchema,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import { principalOf } from "@deeptrace/shared/grpc/principal";
import type { Logger } from "@deeptrace/shared/logging/logger";
import { EventQueue } from "../fleet/event-queue.js";
import type { FleetEvent, FleetResult, FleetRunner } from "../fleet/fleet-runner.js";
import type { RolloutOptions } from "../fleet/rollout-plan.js";
import type { HealthMonitor } from "../health/health-monitor.js";
import type { StateChange } from "../health/state-change.js";
import { nowNs } from "../inventory/agent-status.js";
import type { Inventory, InventoryEntry, Selector } from "../inventory/inventory.js";
import type { AgentOperations, OperationName } from "../lifecycle/agent-operations.js";
import type { ProgressStatus } from "../lifecycle/progress.js";
import { deepMerge, spanIndexOf } from "../lifecycle/render-config.js";
import { agentMessage, stateChangeMessage, stateMessage } from "./agent-message.js";
import { recordFromSpec } from "./agent-spec.js";
import { withStatus } from "./errors.js";

export interface ManagerParts {
  config: Config;
  inventory: Inventory;
  operations: AgentOperations;
  fleet: FleetRunner;
  health: HealthMonitor;
  logger: Logger;
}

const PROGRESS: Record<ProgressStatus, AgentProgress_Status> = {
  started: AgentProgress_Status.STARTED,
  log: AgentProgress_Status.LOG,
  succeeded: AgentProgress_Status.SUCCEEDED,
  failed: AgentProgress_Status.FAILED,
  skipped: AgentProgress_Status.SKIPPED,
};

function selectorOf(selector: AgentSelector | undefined): Selector {
  return { names: [...(selector?.names ?? [])], labels: { ...(selector?.labels ?? {}) } };
}

function resultMessage(result: FleetResult): AgentResult {
  return create(AgentResultSchema, {
    agent: result.agent,
    ok: result.ok,
    failedStep: result.failedStep ?? "",
    message: result.message,
    state: stateMessage(result.state),
  });
}

/** The fleet API: viewers read, operators run the lifecycle, admins change the inventory. */
export function agentManagerService(
  parts: ManagerParts,
): HostedService<typeof AgentManagerService> {
  const { config, inventory, operations, fleet, health, logger } = parts;
  const defaults = config.agent_manager;

  const rolloutOf = (rollout: RolloutMessage | undefined): RolloutOptions => {
    const ratio = rollout?.maxFailureRatio ?? 0;
    if (!(ratio >= 0 && ratio <= 1)) {
      throw new ConnectError(
        `rollout.max_failure_ratio must be between 0 and 1, got ${ratio}`,
        Code.InvalidArgument,
      );
    }
    return {
      concurrency: rollout?.concurrency || defaults.concurrency,
      batchSize: rollout?.batchSize ?? 0,
      maxFailureRatio: ratio,
    };
  };

  const view = (entry: InventoryEntry) =>
    agentMessage(entry, spanIndexOf(operations.renderFor(entry.agent).object, entry.agent.name));

  const logResults = (ctx: HandlerContext, operation: string, results: FleetResult[]) => {
    const principal = principalOf(ctx);
    for (const r of results) {
      logger.info(
        {
          operation,
          agent: r.agent,
          ok: r.ok,
          failedStep: r.failedStep,
          principal: principal.name,
        },
        r.ok ? "agent operation succeeded" : r.message,
      );
    }
  };

  const runUnary = async (
    operation: OperationName,
    selector: AgentSelector | undefined,
    rollout: RolloutMessage | undefined,
    ctx: HandlerContext,
  ) => {
    const targets = await withStatus(() => inventory.select(selectorOf(selector)));
    const results = await fleet.run(
      operation,
      targets,
      rolloutOf(rollout),
      () => undefined,
      ctx.signal,
    );
    logResults(ctx, operation, results);
    return { results: results.map(resultMessage) };
  };

  return {
    service: AgentManagerService,
    roles: {
      listAgents: "viewer",
      getAgent: "viewer",
      registerAgent: "admin",
      updateAgent: "admin",
      removeAgent: "admin",
      deployAgents: "operator",
      startAgents: "operator",
      stopAgents: "operator",
      restartAgents: "operator",
      syncConfig: "operator",
      updateConfig: "operator",
      testConnectivity: "operator",
      getAgentConfig: "viewer",
      watchAgents: "viewer",
    },
    implementation: {
      listAgents: (req) =>
        withStatus(() => ({ agents: inventory.select(selectorOf(req.selector)).map(view) })),

      getAgent: (req) => withStatus(() => ({ agent: view(inventory.get(req.name)) })),

      registerAgent: (req) =>
        withStatus(async () => {
          const entry = await inventory.register(recordFromSpec(req.agent, config));
          void health.probe(entry.agent.name);
          return { agent: view(entry) };
        }),

      updateAgent: (req) =>
        withStatus(async () => {
          const name = req.agent?.name ?? "";
          const existing = inventory.get(name);
          if (existing.agent.origin === "config") {
            throw new ConnectError(
              `agent ${name}: defined in the [[agents]] section of the config file; change it there`,
              Code.FailedPrecondition,
            );
          }
          const record = recordFromSpec(req.agent, config);
          record.configPatch = existing.agent.configPatch;
          const entry = await inventory.replace(record);
          void health.probe(name);
          return { agent: view(entry) };
        }),

      removeAgent: (req, ctx) =>
        withStatus(async () => {
          const entry = inventory.get(req.name);
          if (entry.agent.origin === "config") {
            throw new ConnectError(
              `agent ${req.name}: defined in the [[agents]] section of the config file; remove it there`,
              Code.FailedPrecondition,
            );
          }
          let result: FleetResult = {
            agent: req.name,
            ok: true,
            message: "removed from the inventory",
            state: entry.status.state,
            batch: 1,
          };
          if (req.uninstall) {
            const [uninstalled] = await fleet.run(
              "uninstall",
              [entry],
              rolloutOf(undefined),
              () => undefined,
              ctx.signal,
            );
            if (uninstalled && !uninstalled.ok) return { result: resultMessage(uninstalled) };
            result = { ...result, message: `${uninstalled?.message}; removed from the inventory` };
          }
          await inventory.remove(req.name);
          return { result: resultMessage(result) };
        }),

      deployAgents: async function* (req, ctx): AsyncGenerator<DeployAgentsResponse> {
        const targets = await withStatus(() => inventory.select(selectorOf(req.selector)));
        const rollout = rolloutOf(req.rollout);
        const queue = new EventQueue<FleetEvent>(ctx.signal);
        const done = fleet
          .run(
            req.start ? "deploy_and_start" : "deploy",
            targets,
            rollout,
            (e) => queue.push(e),
            ctx.signal,
          )
          .then(
            (results) => logResults(ctx, "deploy", results),
            (error: Error) => logger.error({ err: error.message }, "deploy failed"),
          )
          .finally(() => queue.end());
        for await (const event of queue) {
          if (event.kind === "progress") {
            yield create(DeployAgentsResponseSchema, {
              event: {
                case: "progress",
                value: {
                  agent: event.event.agent,
                  step: event.event.step,
                  status: PROGRESS[event.event.status],
                  message: event.event.message,
                  batch: rollout.batchSize > 0 ? event.batch : 0,
                  atNs: nowNs(),
                },
              },
            });
          } else {
            yield create(DeployAgentsResponseSchema, {
              event: { case: "result", value: resultMessage(event.result) },
            });
          }
        }
        await done;
      },

      startAgents: (req, ctx) => runUnary("start", req.selector, req.rollout, ctx),
      stopAgents: (req, ctx) => runUnary("stop", req.selector, req.rollout, ctx),
      restartAgents: (req, ctx) => runUnary("restart", req.selector, req.rollout, ctx),
      syncConfig: (req, ctx) => runUnary("sync_config", req.selector, req.rollout, ctx),
      testConnectivity: (req, ctx) => runUnary("test", req.selector, undefined, ctx),

      updateConfig: (req, ctx) =>
        withStatus(async () => {
          let patch: Record<string, unknown> = {};
          if (req.configPatchJson) {
            let parsed: unknown;
            try {
              parsed = JSON.parse(req.configPatchJson);
            } catch (error) {
              throw new ConnectError(
                `config_patch_json is not JSON: ${(error as Error).message}`,
                Code.InvalidArgument,
              );
            }
            if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
              throw new ConnectError(
                "config_patch_json must be a JSON object",
                Code.InvalidArgument,
              );
            }
            patch = parsed as Record<string, unknown>;
            const api = patch.api as Record<string, unknown> | undefined;
            if ("agent" in patch || (api && typeof api === "object" && "port" in api)) {
              throw new ConnectError(
                "config_patch_json cannot change [agent] or api.port: they follow the agent's registration (UpdateAgent)",
                Code.InvalidArgument,
              );
            }
          }
          const targets = inventory.select(selectorOf(req.selector));
          for (const entry of targets) {
            await inventory.replace({
              ...entry.agent,
              configPatch: deepMerge(entry.agent.configPatch, patch),
            });
          }
          return runUnary("update_config", req.selector, req.rollout, ctx);
        }),

      getAgentConfig: (req) =>
        withStatus(() => {
          const rendered = operations.renderFor(inventory.get(req.name).agent);
          return { configToml: rendered.redactedToml, configHash: rendered.hash };
        }),

      watchAgents: async function* (req, ctx): AsyncGenerator<WatchAgentsResponse> {
        const selector = selectorOf(req.selector);
        const initial = await withStatus(() => inventory.select(selector));
        const queue = new EventQueue<StateChange>(ctx.signal);
        const matches = (name: string) => {
          try {
            return (
              inventory.select({ ...selector, names: [name] }).length > 0 &&
              (selector.names.length === 0 || selector.names.includes(name))
            );
          } catch {
            return false;
          }
        };
        const listener = (change: StateChange) => {
          if (matches(change.agent)) queue.push(change);
        };
        inventory.events.on("change", listener);
        try {
          for (const entry of initial) {
            yield {
              change: stateChangeMessage({
                agent: entry.agent.name,
                previousState: entry.status.state,
                state: entry.status.state,
                reason: entry.status.reason,
                changedAtNs: entry.status.stateChangedAtNs,
              }),
            } as WatchAgentsResponse;
          }
          for await (const change of queue)
            yield { change: stateChangeMessage(change) } as WatchAgentsResponse;
        } finally {
          inventory.events.off("change", listener);
        }
      },
    },
  };
}
