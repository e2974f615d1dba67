import { connect, type NatsConnection } from "nats";
import type { Config } from "../config/schema.js";

/**
 * A NATS connection from the `[nats]` section. It keeps trying while the server is away,
 * also for the first connection, so a service started before NATS waits instead of exiting.
 */
export async function connectNats(config: Config, name: string): Promise<NatsConnection> {
  return connect({
    servers: config.nats.url.split(",").map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 1_000,
    ...(config.nats.token ? { token: config.nats.token.reveal() } : {}),
  });
}
