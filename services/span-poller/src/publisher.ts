import type { JetStreamClient, PubAck } from "nats";
import type { Logger } from "pino";
import { Backoff, sleep } from "./backoff.js";
import type { PollerMetrics } from "./metrics.js";

export class PublishAborted extends Error {
  constructor(msgId: string) {
    super(`publishing ${msgId} was abandoned at shutdown; it stays pending and is re-published`);
  }
}

/**
 * Publishes window messages to JetStream with the window id as message id, so a re-publish
 * is de-duplicated. Nothing is dropped: when the stream is full (it rejects new messages),
 * the server is away or no ack comes, it waits and retries until the message is stored or
 * the hard-stop signal fires.
 */
export class WindowPublisher {
  lastError: string | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly subject: string,
    private readonly maxBackoffMs: number,
    private readonly metrics: PollerMetrics,
    private readonly logger: Logger,
  ) {}

  async publish(msgId: string, data: Uint8Array, signal: AbortSignal): Promise<PubAck> {
    const backoff = new Backoff(200, this.maxBackoffMs);
    for (;;) {
      if (signal.aborted) throw new PublishAborted(msgId);
      try {
        const ack = await this.js.publish(this.subject, data, { msgID: msgId, timeout: 10_000 });
        this.lastError = undefined;
        return ack;
      } catch (error) {
        this.lastError = `publish ${msgId}: ${(error as Error).message}`;
        this.metrics.publishRetries.inc();
        const waitMs = backoff.fail();
        this.logger.warn(
          { msgId, err: error, retryInMs: waitMs },
          "window publish failed; retrying",
        );
        await sleep(waitMs, signal);
      }
    }
  }
}
