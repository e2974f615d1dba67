import type { JsMsg, NatsConnection } from "nats";
import type { Logger } from "pino";
import type { DeadLetterReason, UndeliverableMessage } from "./dead-letters.js";
import { WindowPulls } from "./window-pulls.js";

/** What the consumer does with one message; resolves once everything it wrote is stored. */
export type WindowHandler = (msg: JsMsg, signal: AbortSignal) => Promise<void>;

export interface WindowConsumerOptions {
  stream: string;
  /** The shared durable pull consumer. */
  consumer: string;
  /** Windows handled at the same time by this instance. */
  concurrency: number;
  /** How long one pull request waits on the server before the client renews it. */
  pullExpiresMs: number;
  /** How long a confirmed ack waits for the server's answer. */
  ackTimeoutMs: number;
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
 * Takes windows from the shared durable consumer, so instances split the work. It requests
 * exactly as many windows as it has free slots (`concurrency`) through `WindowPulls`, whose
 * inbox outlives every pull request, so a window that arrives as a request expires is still
 * received (a `next()` per window dropped it, and it came back only after ack_wait with one
 * delivery spent).
 *
 * Every window the consumer holds gets in-progress acks from the moment it arrives until it
 * is settled. A window that arrives while every slot is busy (it answers a request that was
 * written off as lost) waits for a slot with in-progress acks too, so a long Elasticsearch
 * stall never lets ack_wait hand a window this instance still holds to another instance.
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
  /** Windows received while every slot was busy, oldest first, with their in-progress acks. */
  private readonly waiting: Array<{ msg: JsMsg; heartbeat: ReturnType<typeof setInterval> }> = [];
  private readonly pulls: WindowPulls;

  constructor(
    nc: NatsConnection,
    private readonly handler: WindowHandler,
    private readonly options: WindowConsumerOptions,
    private readonly logger: Logger,
  ) {
    this.pulls = new WindowPulls(
      nc,
      {
        stream: options.stream,
        consumer: options.consumer,
        expiresMs: options.pullExpiresMs,
        ackTimeoutMs: options.ackTimeoutMs,
      },
      (msg) => this.received(msg),
      () => this.requestFreeSlots(),
      logger,
    );
  }

  start(): void {
    this.pulls.start();
    this.requestFreeSlots();
  }

  /**
   * Stops requesting windows and hands back (nak, no delay) every window not in hand yet,
   * including any that arrives for a request still open; lets the windows in hand finish for
   * up to `graceMs`, then aborts them (they are nacked, so another instance takes them at
   * once) and waits for all of them.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.logger.info({ inHand: this.inHand.size }, "no longer taking windows");
    for (const { msg, heartbeat } of this.waiting.splice(0)) {
      clearInterval(heartbeat);
      msg.nak();
    }
    const timer = setTimeout(() => this.abort.abort(), graceMs);
    // No window joins those in hand from now on (arrivals are handed back).
    await Promise.all([this.pulls.stop(), ...this.inHand]);
    clearTimeout(timer);
  }

  private requestFreeSlots(): void {
    if (this.stopping) return;
    this.pulls.want(Math.max(0, this.options.concurrency - this.inHand.size - this.waiting.length));
  }

  private received(msg: JsMsg): void {
    if (this.stopping) {
      msg.nak();
      return;
    }
    this.options.events?.received?.(msg);
    this.logger.debug(
      { seq: msg.info.streamSequence, deliveries: msg.info.redeliveryCount },
      "window received",
    );
    if (this.inHand.size < this.options.concurrency) {
      this.take(msg, this.heartbeat(msg));
      return;
    }
    this.waiting.push({ msg, heartbeat: this.heartbeat(msg) });
  }

  private heartbeat(msg: JsMsg): ReturnType<typeof setInterval> {
    return setInterval(() => msg.working(), this.options.inProgressIntervalMs);
  }

  private take(msg: JsMsg, heartbeat: ReturnType<typeof setInterval>): void {
    const settled: Promise<void> = this.settle(msg).finally(() => {
      clearInterval(heartbeat);
      this.inHand.delete(settled);
      const next = this.stopping ? undefined : this.waiting.shift();
      if (next) this.take(next.msg, next.heartbeat);
      else this.requestFreeSlots();
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
