import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Inventory } from "./inventory/inventory.js";

/**
 * Fleet metrics: agents by state (read from the inventory at scrape time), lifecycle
 * operations by outcome and failed step, their duration, and SSH connection attempts.
 */
export function fleetMetrics(registry: Registry, inventory: Inventory) {
  new Gauge({
    name: "deeptrace_agents",
    help: "Agents in the inventory, by state",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { status } of inventory.list()) this.inc({ state: status.state });
    },
  });
  const operations = new Counter({
    name: "deeptrace_agent_operations_total",
    help: "Lifecycle operations on one agent, by operation, outcome and the step that failed",
    labelNames: ["operation", "outcome", "failed_step"] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "deeptrace_agent_operation_seconds",
    help: "Duration of lifecycle operations on one agent",
    labelNames: ["operation"] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 120, 600],
    registers: [registry],
  });
  const connections = new Counter({
    name: "deeptrace_ssh_connections_total",
    help: "SSH connection attempts by agent and outcome (opened, unreachable, timeout, host_key, auth, protocol); connections are pooled, so this stays far below the operation count",
    labelNames: ["agent", "outcome"] as const,
    registers: [registry],
  });
  return {
    operation: (
      operation: string,
      ok: boolean,
      failedStep: string | undefined,
      durationSeconds: number,
    ) => {
      operations.inc({ operation, outcome: ok ? "ok" : "failed", failed_step: failedStep ?? "" });
      seconds.observe({ operation }, durationSeconds);
    },
    connection: (agent: string, outcome: string) => connections.inc({ agent, outcome }),
  };
}
