import { parseArgs } from "node:util";
import type { Registry } from "prom-client";
import { effectiveConfigJson } from "../config/effective-config.js";
import { ConfigError, loadConfig } from "../config/load-config.js";
import type { Config, ServiceSection } from "../config/schema.js";
import type { AuditSink } from "../grpc/audit.js";
import { BearerAuthenticator } from "../grpc/auth.js";
import type { HostedService } from "../grpc/host-service.js";
import { GrpcServer } from "../grpc/server.js";
import { createLogger, type Logger } from "../logging/logger.js";
import { startHttpEndpoints } from "../metrics/http-server.js";
import { createMetricsRegistry } from "../metrics/registry.js";

/** What a service gets to build itself. */
export interface ServiceRuntime {
  config: Config;
  logger: Logger;
  registry: Registry;
}

/** What a service hands back: its gRPC services and how to stop its own work. */
export interface ServiceParts {
  // biome-ignore lint/suspicious/noExplicitAny: each hosted service has its own descriptor type
  services: HostedService<any>[];
  audit?: AuditSink;
  /** Extra readiness beyond the gRPC server running (e.g. Elasticsearch reachable). */
  healthy?: () => boolean;
  /**
   * Stop taking new work (stop fetching messages) and finish or hand back the work in hand;
   * runs as soon as shutdown starts, while the gRPC server drains.
   */
  stopIntake?: () => Promise<void>;
  /** Stop background work and flush; runs after the gRPC server drained and intake stopped. */
  stop?: () => Promise<void>;
}

export interface ServiceMain {
  name: string;
  section: (config: Config) => ServiceSection;
  setup: (runtime: ServiceRuntime) => Promise<ServiceParts>;
}

const USAGE = "usage: <service> [--config FILE] [--print-config]   (or DEEPTRACE_CONFIG=FILE)";

/**
 * Runs a service process: loads and validates the configuration (exit 2 on errors), starts
 * gRPC (health, reflection, auth) and HTTP /metrics + /healthz, and on SIGTERM or SIGINT
 * shuts down gracefully: NOT_SERVING and intake stopped, drain within the grace period, stop,
 * exit 0.
 */
export async function runService(main: ServiceMain, argv = process.argv.slice(2)): Promise<void> {
  let config: Config;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: "string" }, "print-config": { type: "boolean" } },
      strict: true,
    });
    config = loadConfig({ path: values.config ?? process.env.DEEPTRACE_CONFIG });
    if (values["print-config"]) {
      process.stdout.write(`${effectiveConfigJson(config)}\n`);
      return;
    }
    if (config.auth.enabled && config.auth.tokens.length === 0) {
      throw new ConfigError([
        "auth.enabled is true but auth.tokens is empty: add [[auth.tokens]] entries or set auth.enabled = false",
      ]);
    }
  } catch (error) {
    const message =
      error instanceof ConfigError ? error.message : `${(error as Error).message}\n${USAGE}`;
    process.stderr.write(`${main.name}: ${message}\n`);
    process.exitCode = 2;
    return;
  }

  const logger = createLogger({ service: main.name, level: config.log.level });
  const section = main.section(config);
  const registry = createMetricsRegistry(main.name);
  logger.info({ config: JSON.parse(effectiveConfigJson(config)) }, "effective configuration");

  const parts = await main.setup({ config, logger, registry });
  const grpc = await GrpcServer.start({
    services: parts.services,
    listen: section.listen,
    auth: new BearerAuthenticator(config.auth.tokens, config.auth.enabled),
    logger,
    registry,
    audit: parts.audit,
    tls: config.tls && {
      certFile: config.tls.cert_file,
      keyFile: config.tls.key_file,
      clientCaFile: config.tls.client_ca_file,
    },
  });
  let stopping = false;
  const [httpHost, httpPort] = splitHostPort(section.http_listen);
  const http = await startHttpEndpoints({
    registry,
    host: httpHost,
    port: httpPort,
    healthy: () => !stopping && (parts.healthy?.() ?? true),
  });
  logger.info(
    { grpc: grpc.address, http: `${http.address.address}:${http.address.port}` },
    "service started",
  );

  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, graceMs: section.shutdown_grace_ms }, "shutting down");
    try {
      await Promise.all([grpc.shutdown(section.shutdown_grace_ms), parts.stopIntake?.()]);
      await parts.stop?.();
      await http.close();
      logger.info("stopped");
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at).replace(/^\[|\]$/g, ""), Number(address.slice(at + 1))];
}
