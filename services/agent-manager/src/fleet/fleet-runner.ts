import type { HealthMonitor } from "../health/health-monitor.js";
import type { AgentStateName } from "../inventory/agent-status.js";
import type { Inventory, InventoryEntry } from "../inventory/inventory.js";
import type {
  AgentOperations,
  OperationName,
  OperationResult,
} from "../lifecycle/agent-operations.js";
import type { ProgressEvent } from "../lifecycle/progress.js";
import type { RolloutOptions } from "./rollout-plan.js";
import { runFleet } from "./run-fleet.js";

export interface FleetResult extends OperationResult {
  state: AgentStateName;
  batch: number;
}

export type FleetEvent =
  | { kind: "progress"; event: ProgressEvent; batch: number }
  | { kind: "result"; result: FleetResult };

/**
 * A lifecycle operation over many agents: rollout batches and concurrency from the request
 * (server defaults otherwise), health probes held off the agents while they are worked on,
 * every progress event and per-agent result reported as it happens.
 */
export class FleetRunner {
  constructor(
    private readonly inventory: Inventory,
    private readonly operations: AgentOperations,
    private readonly health: HealthMonitor,
  ) {}

  async run(
    operation: OperationName,
    targets: InventoryEntry[],
    rollout: RolloutOptions,
    onEvent: (event: FleetEvent) => void,
    signal?: AbortSignal,
  ): Promise<FleetResult[]> {
    const release = this.health.claim(targets.map((t) => t.agent.name));
    try {
      return await runFleet<InventoryEntry, FleetResult>(
        targets,
        rollout,
        {
          run: async (entry, batch) => {
            const result = await this.operations.run(
              operation,
              entry.agent,
              (event) => onEvent({ kind: "progress", event, batch }),
              signal,
            );
            return { ...result, batch, state: this.inventory.get(entry.agent.name).status.state };
          },
          skipped: (entry, batch, why) => {
            onEvent({
              kind: "progress",
              batch,
              event: { agent: entry.agent.name, step: "rollout", status: "skipped", message: why },
            });
            return {
              agent: entry.agent.name,
              ok: false,
              failedStep: "rollout",
              message: `agent ${entry.agent.name}: not attempted: ${why}`,
              state: entry.status.state,
              batch,
            };
          },
          onResult: (_entry, result) => onEvent({ kind: "result", result }),
        },
        signal,
      );
    } finally {
      release();
    }
  }
}
