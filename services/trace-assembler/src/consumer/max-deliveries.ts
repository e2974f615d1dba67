import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamManager, NatsConnection, Subscription } from "nats";
import type { Logger } from "pino";
import type { DeadLetterReason, UndeliverableMessage } from "./dead-letters.js";

export const MAX_DELIVERIES_REASON = "max deliveries reached";

/** The payload of `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>`. */
interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

export interface MaxDeliveriesOptions {
  stream: string;
  consumer: string;
  /** Only messages on this subject are windows of this consumer. */
  subject: string;
  /** Pause between attempts while the dead letter cannot be stored. */
  retryMs: number;
  /** Dead letter reason details (window id) from a message's data. */
  describe: (data: Uint8Array) => Omit<DeadLetterReason, "reason">;
  deadLetter: (
    msg: UndeliverableMessage,
    why: DeadLetterReason,
    signal: AbortSignal,
  ) => Promise<void>;
  deadLettered?: (msg: UndeliverableMessage) => void;
}

/**
 * Dead-letters windows whose last delivery was never settled (the instance holding it
 * crashed, or could not store the dead letter): JetStream does not deliver them again and
 * would keep them in the work-queue stream forever, announcing them only once with a
 * max-deliveries advisory. Every instance listens in one queue group, so one of them takes
 * each advisory: it reads the message by stream sequence, stores the dead letter (subject and
 * index, reason "max deliveries reached") and deletes the message. While the dead letter
 * cannot be stored it retries; the message stays in the stream meanwhile.
 */
export class MaxDeliveriesWatcher {
  private subscription: Subscription | undefined;
  private readonly abort = new AbortController();
  private readonly handling = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: MaxDeliveriesOptions,
    private readonly logger: Logger,
  ) {}

  /** Subscribes; resolves once the server has the subscription, so no advisory is missed after. */
  async start(): Promise<void> {
    const { stream, consumer } = this.options;
    this.subscription = this.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`,
      {
        queue: `${consumer}-max-deliveries`,
        callback: (error, msg) => {
          if (error) {
            this.logger.error({ err: error }, "max-deliveries advisory subscription failed");
            return;
          }
          let advisory: MaxDeliveriesAdvisory;
          try {
            advisory = msg.json<MaxDeliveriesAdvisory>();
          } catch (parseError) {
            this.logger.warn({ err: parseError }, "unreadable max-deliveries advisory ignored");
            return;
          }
          const handled: Promise<void> = this.handle(advisory).finally(() =>
            this.handling.delete(handled),
          );
          this.handling.add(handled);
        },
      },
    );
    await this.nc.flush();
  }

  /** Stops listening; advisories being handled stop retrying and finish. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.abort.abort();
    await Promise.all(this.handling);
  }

  private async handle(advisory: MaxDeliveriesAdvisory): Promise<void> {
    const { stream, subject } = this.options;
    const seq = advisory.stream_seq;
    for (let attempt = 1; !this.abort.signal.aborted; attempt++) {
      try {
        let stored: Awaited<ReturnType<JetStreamManager["streams"]["getMessage"]>>;
        try {
          stored = await this.jsm.streams.getMessage(stream, { seq });
        } catch (error) {
          if (/no message found/i.test((error as Error).message)) {
            this.logger.debug({ seq }, "max-deliveries advisory: message already gone");
            return;
          }
          throw error;
        }
        if (stored.subject !== subject) return;
        const message: UndeliverableMessage = {
          stream,
          streamSequence: seq,
          subject: stored.subject,
          data: stored.data,
          deliveries: advisory.deliveries,
        };
        const why = { reason: MAX_DELIVERIES_REASON, ...this.options.describe(stored.data) };
        await this.options.deadLetter(message, why, this.abort.signal);
        await this.jsm.streams.deleteMessage(stream, seq, false).catch((error: Error) => {
          if (!/no message found/i.test(error.message)) throw error;
        });
        this.logger.error(
          { seq, deliveries: advisory.deliveries, reason: why.reason },
          "window dead-lettered",
        );
        this.options.deadLettered?.(message);
        return;
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.logger.warn(
          { err: error, seq, attempt },
          "dead-lettering a window after its last delivery failed; retrying",
        );
        await sleep(this.options.retryMs, undefined, { signal: this.abort.signal }).catch(
          () => undefined,
        );
      }
    }
  }
}
