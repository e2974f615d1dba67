import { connect, type NatsConnection } from "nats";
import type { Config } from "../config/schema.js";

/** A NATS connection from the `[nats]` section that keeps reconnecting while the server is away. */
export async function connectNats(config: Config, name: string): Promise<NatsConnection> {
  return connect({
    servers: config.nats.url.split(",").map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...(config.nats.token ? { token: config.nats.token.reveal() } : {}),
  });
}
