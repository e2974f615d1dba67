import type { Config } from "@deeptrace/shared/config/schema";
import { connectNats } from "@deeptrace/shared/nats/connect";
import { ensureWindowStream } from "@deeptrace/shared/nats/window-stream";
import type { JetStreamClient, NatsConnection } from "nats";

/** Without max_payload in the server's INFO, NATS's own default (1 MiB) applies. */
const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** What the poller publishes with, once NATS answered and the windows stream exists. */
export interface OpenLink {
  js: JetStreamClient;
  /** The NATS server's max_payload. */
  maxPayload: number;
}

/** NATS could not be reached, or the windows stream could not be created or updated. */
export class NatsLinkError extends Error {
  override name = "NatsLinkError";
}

/**
 * The poller's way to JetStream. It is opened from the poller loop, not at process start,
 * so a NATS server that cannot be reached or a windows stream that cannot be created or
 * updated (e.g. "insufficient storage" when JetStream cannot reserve its max_bytes) is
 * retried with back-off while the service runs and reports itself not ready, instead of
 * ending the process. Each step that succeeded is kept: a retry only redoes what failed.
 */
export class NatsLink {
  private connection: NatsConnection | undefined;
  private streamReady = false;

  constructor(private readonly config: Config) {}

  /** Connects (one attempt) and creates or updates the windows stream; throws what failed. */
  async open(): Promise<OpenLink> {
    if (!this.connection) {
      try {
        this.connection = await connectNats(this.config, "span-poller", {
          waitOnFirstConnect: false,
        });
      } catch (error) {
        // Not the URL: it may carry credentials.
        throw new NatsLinkError(`connecting to NATS failed: ${(error as Error).message}`);
      }
    }
    const nc = this.connection;
    if (!this.streamReady) {
      const { stream } = this.config.nats;
      try {
        await ensureWindowStream(await nc.jetstreamManager(), this.config);
      } catch (error) {
        throw new NatsLinkError(
          `creating or updating the JetStream stream "${stream}" failed: ${(error as Error).message}`,
        );
      }
      this.streamReady = true;
    }
    return { js: nc.jetstream(), maxPayload: nc.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD };
  }

  /** Flushes and closes the connection, if one was made. */
  async close(): Promise<void> {
    await this.connection?.drain();
  }
}
