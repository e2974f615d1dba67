import { elasticUrl } from "@deeptrace/shared/config/elastic-url";
import { createElasticClient } from "@deeptrace/shared/elastic/client";
import type { ServiceParts, ServiceRuntime } from "@deeptrace/shared/service/run-service";
import { agentManagerService } from "./api/agent-manager-service.js";
import { AuditIndex } from "./elastic/audit-index.js";
import { RegistryStore } from "./elastic/registry-store.js";
import { StateHistory } from "./elastic/state-history.js";
import { FleetRunner } from "./fleet/fleet-runner.js";
import { fleetMetrics } from "./fleet-metrics.js";
import { HealthMonitor } from "./health/health-monitor.js";
import { agentsFromConfig } from "./inventory/config-seed.js";
import { Inventory } from "./inventory/inventory.js";
import { AgentOperations } from "./lifecycle/agent-operations.js";
import type { RenderContext } from "./lifecycle/render-config.js";
import { retryUntilDone } from "./retry.js";
import { ConnectionPool } from "./ssh/connection-pool.js";

/** Wires the agent-manager: registry, SSH pool, lifecycle, fleet runner, health probes, API, audit. */
export async function setupAgentManager({
  config,
  logger,
  registry: metrics,
}: ServiceRuntime): Promise<ServiceParts> {
  const settings = config.agent_manager;
  const prefix = config.elastic.index_prefix;
  const elastic = createElasticClient(config);

  const registry = new RegistryStore(elastic, `${prefix}-${settings.registry_index_suffix}`);
  const history = new StateHistory(elastic, `${prefix}-${settings.history_index_suffix}`, logger);
  const audit = new AuditIndex(elastic, `${prefix}-${settings.audit_index_suffix}`, logger);
  const inventory = new Inventory(registry, logger);
  const record = fleetMetrics(metrics, inventory);
  inventory.seed(agentsFromConfig(config));
  const stopping = new AbortController();
  // The API serves the config-file inventory at once; the registry joins when Elasticsearch answers.
  void retryUntilDone(
    async () => {
      await Promise.all([history.init(), audit.init()]);
      await inventory.attach();
      logger.info({ index: registry.index }, "agent registry attached");
    },
    (error, delayMs) =>
      logger.warn(
        { err: error.message, retryInMs: delayMs },
        "Elasticsearch not reachable; agent registry not attached yet",
      ),
    stopping.signal,
  );
  inventory.events.on("change", (change) => {
    history.record(change);
    logger.info(
      { agent: change.agent, from: change.previousState, to: change.state, reason: change.reason },
      "agent state changed",
    );
  });

  const pool = new ConnectionPool({
    connectTimeoutMs: settings.ssh_connect_timeout_ms,
    idleTimeoutMs: settings.ssh_idle_timeout_ms,
    keepaliveIntervalMs: settings.ssh_keepalive_interval_ms,
    logger,
    onConnect: record.connection,
  });
  const defaults = settings.agent_defaults;
  const render: RenderContext = {
    elasticUrl: settings.agent_elastic_url ?? elasticUrl(config),
    elasticUsername: config.elastic.username,
    elasticPassword: config.elastic.password ?? config.elastic.elastic_password,
    bulkSize: config.elastic.bulk_size,
    defaults: { sender: defaults.sender, emulator: defaults.emulator },
  };
  const health = new HealthMonitor(
    inventory,
    pool,
    elastic,
    render,
    {
      intervalMs: settings.probe_interval_ms,
      apiTimeoutMs: settings.api_timeout_ms,
      stalenessMs: settings.span_staleness_ms,
      concurrency: settings.concurrency,
      knownHostsFile: settings.known_hosts_file,
      trustOnFirstUse: settings.trust_on_first_use,
      pidFile: defaults.pid_file,
    },
    logger,
  );
  const operations = new AgentOperations(
    pool,
    inventory,
    {
      commandTimeoutMs: settings.ssh_command_timeout_ms,
      knownHostsFile: settings.known_hosts_file,
      trustOnFirstUse: settings.trust_on_first_use,
      configFile: defaults.config_file,
      pidFile: defaults.pid_file,
      apiTimeoutMs: settings.api_timeout_ms,
      startTimeoutMs: settings.start_timeout_ms,
    },
    render,
    {
      afterOperation: (name) => health.probe(name),
      onFinished: (operation, result, seconds) =>
        record.operation(operation, result.ok, result.failedStep, seconds),
    },
  );
  const fleet = new FleetRunner(inventory, operations, health);
  health.start();

  return {
    services: [agentManagerService({ config, inventory, operations, fleet, health, logger })],
    audit: audit.sink,
    stop: async () => {
      // An attach attempt in flight is abandoned with the process; no retry starts after this.
      stopping.abort();
      await health.stop();
      pool.closeAll();
      await audit.flush();
      await elastic.close();
    },
  };
}
