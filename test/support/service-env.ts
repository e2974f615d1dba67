import { esUrl, natsUrl } from "./infrastructure.js";

/**
 * Environment that points a service process at the real test Elasticsearch and NATS, with
 * an index prefix, a JetStream stream, subjects and a consumer of its own, so tests that
 * run at the same time never read each other's documents or take each other's windows.
 * `name` must be lower case letters, digits and '-'.
 */
export function isolatedServersEnv(name: string): NodeJS.ProcessEnv {
  return {
    DEEPTRACE__ELASTIC__URL: esUrl(),
    DEEPTRACE__ELASTIC__INDEX_PREFIX: name,
    DEEPTRACE__NATS__URL: natsUrl(),
    DEEPTRACE__NATS__STREAM: name.toUpperCase().replaceAll("-", "_"),
    DEEPTRACE__NATS__SUBJECT: `${name}.windows`,
    DEEPTRACE__NATS__DEAD_LETTER_SUBJECT: `${name}.dead`,
    DEEPTRACE__NATS__CONSUMER: name,
    // JetStream reserves max_bytes per stream from the server's file store.
    DEEPTRACE__NATS__STREAM_MAX_BYTES: String(64 * 1024 * 1024),
  };
}
