import type { Config } from "@deeptrace/shared/config/schema";
import { configuredSpanIndex, defaultSpanIndex } from "@deeptrace/shared/config/span-index";
import { AgentManagerService } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import { AgentState } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import { createServiceClient } from "@deeptrace/shared/grpc/client";

/** An agent whose span index the poller reads. */
export interface InventoryAgent {
  name: string;
  index: string;
  /** Wall clock minus monotonic clock on the agent's host, ns. */
  clockOffsetNs: bigint;
  state: string;
}

export type InventorySourceName = "agent-manager" | "config";

export interface InventorySnapshot {
  agents: InventoryAgent[];
  source: InventorySourceName;
  /** Why the agent-manager was not used, when it is configured but failed. */
  error?: string;
}

/**
 * The `[[agents]]` of the configuration file: each agent's span index as its config names it
 * (`spans_<name>` by default), offsets from [span_poller].
 */
export function configInventory(config: Config): InventoryAgent[] {
  const offsets = config.span_poller.clock_offsets_ns;
  return config.agents.map((agent) => ({
    name: agent.agent_info.agent_name,
    index: configuredSpanIndex(config, agent),
    clockOffsetNs: BigInt(offsets[agent.agent_info.agent_name] ?? 0),
    state: "configured",
  }));
}

/**
 * The agent inventory: the agent-manager's ListAgents when `[span_poller]
 * agent_manager_address` is set, the configuration file otherwise. When the agent-manager
 * fails, the last list it gave stays in use (agents do not vanish on a network blip); before
 * it ever answered, the configuration file stands in.
 */
export class Inventory {
  private lastFromManager: InventoryAgent[] | undefined;
  private readonly client;

  constructor(private readonly config: Config) {
    const section = config.span_poller;
    this.client = section.agent_manager_address
      ? createServiceClient(AgentManagerService, {
          address: section.agent_manager_address,
          token: section.agent_manager_token?.reveal(),
          tls: section.agent_manager_ca_file
            ? { caFile: section.agent_manager_ca_file }
            : undefined,
        })
      : undefined;
  }

  async refresh(): Promise<InventorySnapshot> {
    if (!this.client) return { agents: configInventory(this.config), source: "config" };
    try {
      const response = await this.client.listAgents({}, { timeoutMs: 10_000 });
      const offsets = this.config.span_poller.clock_offsets_ns;
      this.lastFromManager = response.agents.map((agent) => ({
        name: agent.name,
        index: agent.spanIndex || defaultSpanIndex(agent.name),
        clockOffsetNs:
          agent.clockOffsetMeasuredAtNs > 0n
            ? agent.clockOffsetNs
            : BigInt(offsets[agent.name] ?? 0),
        state: AgentState[agent.state] ?? String(agent.state),
      }));
      return { agents: this.lastFromManager, source: "agent-manager" };
    } catch (error) {
      const message = `agent-manager ListAgents failed: ${(error as Error).message}`;
      if (this.lastFromManager) {
        return { agents: this.lastFromManager, source: "agent-manager", error: message };
      }
      return { agents: configInventory(this.config), source: "config", error: message };
    }
  }
}
