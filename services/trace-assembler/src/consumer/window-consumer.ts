import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer, ConsumerMessages, JsMsg } from "nats";
import type { Logger } from "pino";
import type { DeadLetterReason, UndeliverableMessage } from "./dead-letters.js";

/** What the consumer does with one message; resolves once everything it wrote is stored. */
export type WindowHandler = (msg: JsMsg, signal: AbortSignal) => Promise<void>;

export interface WindowConsumerOptions {
  /** Windows handled at the same time by this instance. */
  concurrency: number;
  /** How long one pull request waits on the server before the client renews it. */
  pullExpiresMs: number;
  inProgressIntervalMs: number;
  nakDelayMs: number;
  /** Deliveries after which a failing message is dead-lettered (the consumer's max_deliver). */
  maxDeliver: number;
  /** Why a message that failed on its last delivery is given up (window id when known). */
  describeFailure: (msg: JsMsg, error: unknown) => DeadLetterReason;
  deadLetter: (
    msg: UndeliverableMessage,
    why: DeadLetterReason,
    signal: AbortSignal,
  ) => Promise<void>;
  /**
   * Removes a terminated message from the stream: a work-queue stream keeps terminated
   * messages, and a dead letter already holds a copy.
   */
  removeFromStream: (stream: string, sequence: number) => Promise<void>;
  events?: {
    received?: (msg: JsMsg) => void;
    nacked?: (msg: JsMsg, error: unknown) => void;
    deadLettered?: (msg: JsMsg, why: DeadLetterReason) => void;
  };
}

/**
 * Takes windows from the shared durable consumer, so instances split the work, through one
 * long-lived `consume()`: its subscription outlives every pull request, so a window that
 * arrives as a request expires is still received (a `next()` per window dropped it, and it
 * came back only after ack_wait with one delivery spent).
 *
 * At most `concurrency` windows are in hand. Each pull asks for one message, and the client
 * library sends the next pull only when this loop asks for the next message, which it does
 * only with a free slot; so no window waits unattended in a client buffer while its ack_wait
 * runs. Every window in hand gets in-progress acks from the moment it is received.
 *
 * Each window is settled explicitly: ack (confirmed by the server) only after the handler
 * resolved, i.e. after Elasticsearch stored every document; nak with a delay on failure; on
 * the last allowed delivery the message goes to the dead letters and is terminated. A
 * message is terminated only once its dead letter is stored.
 */
export class WindowConsumer {
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly inHand = new Set<Promise<void>>();
  private slotFreed: (() => void) | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly consumer: Consumer,
    private readonly handler: WindowHandler,
    private readonly options: WindowConsumerOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /**
   * Stops pulling (messages the client library already received are handed back with a nak,
   * without delay), lets the windows in hand finish for up to `graceMs`, then aborts them
   * (they are nacked, so another instance takes them at once) and waits for all of them.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.messages?.stop();
    this.slotFreed?.();
    const timer = setTimeout(() => this.abort.abort(), graceMs);
    await this.loop;
    await Promise.all(this.inHand);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const messages = await this.consumer.consume({
          max_messages: 1,
          expires: this.options.pullExpiresMs,
        });
        this.messages = messages;
        // stop() may have run while consume() was being set up.
        if (this.stopping) messages.stop();
        for await (const msg of messages) {
          if (this.stopping) {
            msg.nak();
            continue;
          }
          this.take(msg);
          while (this.inHand.size >= this.options.concurrency && !this.stopping) {
            await new Promise<void>((resolve) => {
              this.slotFreed = resolve;
            });
          }
        }
      } catch (error) {
        if (this.stopping) break;
        this.logger.warn({ err: error }, "consuming windows failed; consuming again");
        await sleep(1_000);
      }
    }
  }

  private take(msg: JsMsg): void {
    this.options.events?.received?.(msg);
    this.logger.debug(
      { seq: msg.info.streamSequence, deliveries: msg.info.redeliveryCount },
      "window received",
    );
    const heartbeat = setInterval(() => msg.working(), this.options.inProgressIntervalMs);
    const settled: Promise<void> = this.settle(msg).finally(() => {
      clearInterval(heartbeat);
      this.inHand.delete(settled);
      const freed = this.slotFreed;
      this.slotFreed = undefined;
      freed?.();
    });
    this.inHand.add(settled);
  }

  private async settle(msg: JsMsg): Promise<void> {
    try {
      await this.handler(msg, this.abort.signal);
    } catch (error) {
      await this.failed(msg, error);
      return;
    }
    try {
      await msg.ackAck();
    } catch (error) {
      // Everything is stored; a redelivery overwrites the same documents.
      this.logger.warn(
        { seq: msg.info.streamSequence, err: error },
        "window written but its ack was not confirmed; a redelivery will overwrite it",
      );
    }
  }

  private async failed(msg: JsMsg, error: unknown): Promise<void> {
    const deliveries = msg.info.redeliveryCount;
    const context = { seq: msg.info.streamSequence, deliveries, err: error };
    if (this.abort.signal.aborted) {
      this.logger.info(context, "shutting down: window handed back");
      msg.nak();
      return;
    }
    if (deliveries < this.options.maxDeliver) {
      this.logger.warn(context, "window failed; it will be redelivered");
      msg.nak(this.options.nakDelayMs);
      this.options.events?.nacked?.(msg, error);
      return;
    }
    const why = this.options.describeFailure(msg, error);
    try {
      await this.options.deadLetter(
        {
          stream: msg.info.stream,
          streamSequence: msg.info.streamSequence,
          subject: msg.subject,
          data: msg.data,
          deliveries,
        },
        why,
        this.abort.signal,
      );
      msg.term(why.reason.slice(0, 200));
      await this.options.removeFromStream(msg.info.stream, msg.info.streamSequence);
      this.logger.error({ ...context, reason: why.reason }, "window dead-lettered");
      this.options.events?.deadLettered?.(msg, why);
    } catch (deadLetterError) {
      // Not terminated: JetStream will not deliver it again and announces it with a
      // max-deliveries advisory, whose handler dead-letters it (see max-deliveries.ts).
      this.logger.error(
        { ...context, deadLetterError },
        "window failed on its last delivery and could not be dead-lettered",
      );
      msg.nak(this.options.nakDelayMs);
    }
  }
}
