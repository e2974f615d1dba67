import type { Consumer, JsMsg } from "nats";
import type { Logger } from "pino";
import type { DeadLetterReason } from "./dead-letters.js";

/** What the consumer does with one message; resolves once everything it wrote is stored. */
export type WindowHandler = (msg: JsMsg, signal: AbortSignal) => Promise<void>;

export interface WindowConsumerOptions {
  /** Windows handled at the same time by this instance. */
  concurrency: number;
  /** How long one pull waits for a message. */
  fetchExpiresMs: number;
  inProgressIntervalMs: number;
  nakDelayMs: number;
  /** Deliveries after which a failing message is dead-lettered (the consumer's max_deliver). */
  maxDeliver: number;
  /** Why a message that failed on its last delivery is given up (window id when known). */
  describeFailure: (msg: JsMsg, error: unknown) => DeadLetterReason;
  deadLetter: (msg: JsMsg, why: DeadLetterReason, signal: AbortSignal) => Promise<void>;
  /**
   * Removes a terminated message from the stream: a work-queue stream keeps terminated
   * messages, and a dead letter already holds a copy.
   */
  removeFromStream: (msg: JsMsg) => Promise<void>;
  events?: {
    received?: (msg: JsMsg) => void;
    nacked?: (msg: JsMsg, error: unknown) => void;
    deadLettered?: (msg: JsMsg, why: DeadLetterReason) => void;
  };
}

/**
 * Pulls windows from the shared durable consumer, so instances split the work, and settles
 * each one explicitly: ack (confirmed by the server) only after the handler resolved, i.e.
 * after Elasticsearch stored every document; in-progress acks while the handler runs;
 * nak with a delay on failure; on the last allowed delivery the message goes to the dead
 * letters and is terminated. A message is terminated only once its dead letter is stored.
 */
export class WindowConsumer {
  private stopping = false;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];

  constructor(
    private readonly consumer: Consumer,
    private readonly handler: WindowHandler,
    private readonly options: WindowConsumerOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.workers = Array.from({ length: this.options.concurrency }, (_, i) => this.work(i));
  }

  /**
   * Stops pulling, lets the windows in hand finish for up to `graceMs`, then aborts them
   * (they are nacked, so another instance takes them at once) and waits for the workers.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => this.abort.abort(), graceMs);
    await Promise.all(this.workers);
    clearTimeout(timer);
  }

  private async work(worker: number): Promise<void> {
    while (!this.stopping) {
      let msg: JsMsg | null;
      try {
        msg = await this.consumer.next({ expires: this.options.fetchExpiresMs });
      } catch (error) {
        this.logger.warn({ err: error, worker }, "pulling a window failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      if (!msg) continue;
      if (this.stopping) {
        msg.nak();
        break;
      }
      await this.settle(msg);
    }
  }

  private async settle(msg: JsMsg): Promise<void> {
    this.options.events?.received?.(msg);
    this.logger.debug(
      { seq: msg.info.streamSequence, deliveries: msg.info.redeliveryCount },
      "window received",
    );
    const heartbeat = setInterval(() => msg.working(), this.options.inProgressIntervalMs);
    try {
      await this.handler(msg, this.abort.signal);
      clearInterval(heartbeat);
      await msg.ackAck();
    } catch (error) {
      clearInterval(heartbeat);
      await this.failed(msg, error);
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
      await this.options.deadLetter(msg, why, this.abort.signal);
      msg.term(why.reason.slice(0, 200));
      await this.options.removeFromStream(msg);
      this.logger.error({ ...context, reason: why.reason }, "window dead-lettered");
      this.options.events?.deadLettered?.(msg, why);
    } catch (deadLetterError) {
      // Not terminated: the message stays in the stream (JetStream announces it with a
      // max-deliveries advisory), so nothing is dropped without a stored reason.
      this.logger.error(
        { ...context, deadLetterError },
        "window failed on its last delivery and could not be dead-lettered",
      );
      msg.nak(this.options.nakDelayMs);
    }
  }
}
