import { collectDefaultMetrics, Registry } from "prom-client";

/** A metrics registry for one service, with process metrics and a `service` label. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "deeptrace_" });
  return registry;
}
