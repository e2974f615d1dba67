import { connect, type NatsConnection } from "nats";
import type { Config } from "../config/schema.js";

export interface ConnectNatsOptions {
  /**
   * Keep trying until the first connection succeeds (the default). With false, a server
   * that cannot be reached rejects the call, so the caller can report it and retry itself;
   * once connected, the connection still reconnects without end.
   */
  waitOnFirstConnect?: boolean;
}

/**
 * A NATS connection from the `[nats]` section. It keeps trying while the server is away,
 * by default also for the first connection, so a service started before NATS waits instead
 * of exiting.
 */
export async function connectNats(
  config: Config,
  name: string,
  options: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  return connect({
    servers: config.nats.url.split(",").map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: options.waitOnFirstConnect ?? true,
    reconnectTimeWait: 1_000,
    ...(config.nats.token ? { token: config.nats.token.reveal() } : {}),
  });
}
