import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamManager, MsgRequest, NatsConnection, StoredMsg, Subscription } from "nats";
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
  /** The consumer's max_deliver: the deliveries a swept message had. */
  maxDeliver: number;
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
 *
 * An advisory is a plain NATS message: when no assembler heard it (the server gives up on a
 * message lazily, on the consumer's next pull, which may come from something else than an
 * assembler; or the instance that took the advisory died before the dead letter was stored;
 * or its connection was down), it is gone. So on start every instance also sweeps the
 * stream. A window still in the work-queue stream was not acked; if the consumer has no ack
 * pending for it either, it was given up after max_deliver (or terminated, dead-lettered and
 * not yet removed). Such windows lie at or below the consumer's ack floor, or, when nothing
 * at all is pending, anywhere up to the last delivered sequence; they are dead-lettered the
 * same way. (Windows given up above the floor while others are pending are swept by a later
 * start, once the floor has passed them.)
 */
export class MaxDeliveriesWatcher {
  private subscription: Subscription | undefined;
  private readonly abort = new AbortController();
  private readonly handling = new Set<Promise<void>>();
  private readonly bySequence = new Map<number, Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: MaxDeliveriesOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Subscribes (resolves once the server has the subscription, so no advisory is missed
   * after), then sweeps the stream in the background for windows whose advisory was missed.
   */
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
          this.track(this.handle(advisory));
        },
      },
    );
    await this.nc.flush();
    this.track(this.sweep().then(() => undefined));
  }

  private track(work: Promise<void>): void {
    const tracked: Promise<void> = work.finally(() => this.handling.delete(tracked));
    this.handling.add(tracked);
  }

  /** Stops listening; advisories being handled and the sweep stop retrying and finish. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.abort.abort();
    await Promise.all(this.handling);
  }

  /**
   * Dead-letters every window left in the stream that the consumer gave up on (see above);
   * resolves to how many. Retries until it gets through or `stop()` is called.
   */
  private async sweep(): Promise<number> {
    const { stream, consumer, subject } = this.options;
    for (let attempt = 1; !this.abort.signal.aborted; attempt++) {
      try {
        const info = await this.jsm.consumers.info(stream, consumer);
        const floor =
          info.num_ack_pending === 0 ? info.delivered.stream_seq : info.ack_floor.stream_seq;
        let swept = 0;
        for (let seq = 1; seq <= floor; seq++) {
          let stored: StoredMsg;
          try {
            // The server's message-get API takes next_by_subj (since 2.9); the client's
            // type for it only lists seq and last_by_subj.
            const next = { next_by_subj: subject, seq } as unknown as MsgRequest;
            stored = await this.jsm.streams.getMessage(stream, next);
          } catch (error) {
            if (isNoMessage(error)) break;
            throw error;
          }
          if (stored.seq > floor) break;
          await this.handle({ stream_seq: stored.seq, deliveries: this.options.maxDeliver });
          swept++;
          seq = stored.seq;
        }
        if (swept > 0) this.logger.warn({ swept, upTo: floor }, "max-deliveries sweep");
        return swept;
      } catch (error) {
        if (this.abort.signal.aborted) break;
        this.logger.warn({ err: error, attempt }, "max-deliveries sweep failed; retrying");
        await sleep(this.options.retryMs, undefined, { signal: this.abort.signal }).catch(
          () => undefined,
        );
      }
    }
    return 0;
  }

  /** Dead-letters the message at this sequence (once at a time per sequence in this process). */
  private handle(advisory: Pick<MaxDeliveriesAdvisory, "stream_seq" | "deliveries">) {
    const seq = advisory.stream_seq;
    const running = this.bySequence.get(seq);
    if (running) return running;
    const handled = this.deadLetter(advisory).finally(() => this.bySequence.delete(seq));
    this.bySequence.set(seq, handled);
    return handled;
  }

  private async deadLetter(
    advisory: Pick<MaxDeliveriesAdvisory, "stream_seq" | "deliveries">,
  ): Promise<void> {
    const { stream, subject } = this.options;
    const seq = advisory.stream_seq;
    for (let attempt = 1; !this.abort.signal.aborted; attempt++) {
      try {
        let stored: StoredMsg;
        try {
          stored = await this.jsm.streams.getMessage(stream, { seq });
        } catch (error) {
          if (isNoMessage(error)) {
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
          if (!isNoMessage(error)) throw error;
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

function isNoMessage(error: unknown): boolean {
  return /no message found/i.test((error as Error).message);
}
