import type { Config } from "@deeptrace/shared/config/schema";
import { AckPolicy, type ConsumerConfig, DeliverPolicy, type JetStreamManager, nanos } from "nats";

/**
 * Creates the shared durable pull consumer every assembler instance reads from, or updates
 * its redelivery settings: explicit ack, `max_deliver` and `ack_wait` from `[nats]`, filtered
 * to the windows subject so dead letters in the same stream are never consumed.
 */
export async function ensureWindowConsumer(jsm: JetStreamManager, config: Config): Promise<void> {
  const { stream, consumer, subject, max_deliver, ack_wait_ms } = config.nats;
  const settings: Partial<ConsumerConfig> = {
    max_deliver,
    ack_wait: nanos(ack_wait_ms),
    max_ack_pending: 1_000,
  };
  try {
    const existing = await jsm.consumers.info(stream, consumer);
    if (existing.config.filter_subject !== subject) {
      throw new Error(
        `consumer ${consumer} on stream ${stream} filters ${existing.config.filter_subject}, expected ${subject}`,
      );
    }
    await jsm.consumers.update(stream, consumer, settings);
  } catch (error) {
    if (!/consumer not found/i.test((error as Error).message)) throw error;
    try {
      await jsm.consumers.add(stream, {
        ...settings,
        durable_name: consumer,
        filter_subject: subject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
    } catch (raced) {
      // Another instance created it at the same moment with the same definition.
      if (!/already (exists|in use)/i.test((raced as Error).message)) throw raced;
    }
  }
}
