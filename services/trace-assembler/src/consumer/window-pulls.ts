import {
  createInbox,
  type JsMsg,
  type Msg,
  type NatsConnection,
  nanos,
  type Subscription,
} from "nats";
// The client's own conversion of a delivered message (ack, nak, working, term, delivery info);
// it is not re-exported from the package root.
import { toJsMsg } from "nats/lib/jetstream/jsmsg.js";
import type { Logger } from "pino";

export interface WindowPullOptions {
  stream: string;
  consumer: string;
  /** How long one pull request waits on the server; heartbeats come every half of it. */
  expiresMs: number;
  /** Timeout of a confirmed ack (`ackAck`). */
  ackTimeoutMs: number;
}

/**
 * Pull requests of the shared durable consumer, sent only for as many windows as the caller
 * asks for, on one inbox that lives as long as this object: every message delivered is handed
 * to `onMessage` the moment it arrives (so its holder can send in-progress acks from then on),
 * including one answering a request that was given up as lost.
 *
 * The client library's `consume()` could not guarantee that: it re-sends a pull each time it
 * misses the server's heartbeats, which it does all along when the caller stops reading
 * because its slots are busy (a long Elasticsearch stall), and it queues those pulls until the
 * caller reads again. They then all went out at once, and the windows they brought waited in
 * the library's buffer, unseen and without in-progress acks, until ack_wait sent them to
 * another instance.
 *
 * The count of windows requested and not yet delivered (`outstanding`) goes down with every
 * delivery and with the count the server reports left over when a request expires (408) or
 * ends otherwise (409). When nothing at all arrives for three heartbeat intervals while windows
 * are outstanding (server restart, lost request), they are written off and asked for again.
 */
export class WindowPulls {
  private readonly inbox: string;
  private subscription: Subscription | undefined;
  private outstandingCount = 0;
  private lastHeard = Date.now();
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private settledWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: WindowPullOptions,
    private readonly onMessage: (msg: JsMsg) => void,
    /** Told whenever `outstanding` went down (a slot may be asked for again). */
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {
    this.inbox = createInbox();
  }

  /** Windows requested and not delivered yet. */
  get outstanding(): number {
    return this.outstandingCount;
  }

  start(): void {
    this.subscription = this.nc.subscribe(this.inbox, {
      callback: (error, msg) => {
        if (error) {
          this.logger.error({ err: error }, "window pull inbox failed");
          return;
        }
        this.received(msg);
      },
    });
    const heartbeatMs = this.heartbeatMs();
    this.watchdog = setInterval(() => {
      if (this.outstandingCount > 0 && Date.now() - this.lastHeard > 3 * heartbeatMs) {
        this.logger.warn(
          { outstanding: this.outstandingCount, silentMs: Date.now() - this.lastHeard },
          "no heartbeat from the window pull requests; asking again",
        );
        this.writeOff(this.outstandingCount);
      }
    }, heartbeatMs);
    void this.watchReconnects();
  }

  /** Makes sure `count` windows are requested in all (sends a request for the difference). */
  want(count: number): void {
    if (this.stopped || this.nc.isClosed()) return;
    const batch = count - this.outstandingCount;
    if (batch <= 0) return;
    if (this.outstandingCount === 0) this.lastHeard = Date.now();
    this.outstandingCount += batch;
    const { stream, consumer, expiresMs } = this.options;
    this.nc.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
      JSON.stringify({
        batch,
        expires: nanos(expiresMs),
        idle_heartbeat: nanos(this.heartbeatMs()),
      }),
      { reply: this.inbox },
    );
  }

  /**
   * Sends no more requests and waits (at most `expiresMs` and a heartbeat) until the requests
   * sent have ended, so no window is delivered to an inbox nobody reads; windows arriving
   * meanwhile still go to `onMessage`. Then closes the inbox.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.outstandingCount > 0 && !this.nc.isClosed()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.expiresMs + this.heartbeatMs());
        this.settledWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    clearInterval(this.watchdog);
    this.subscription?.unsubscribe();
  }

  private heartbeatMs(): number {
    return Math.min(30_000, Math.max(500, Math.floor(this.options.expiresMs / 2)));
  }

  private received(msg: Msg): void {
    this.lastHeard = Date.now();
    const code = msg.headers?.code ?? 0;
    if (msg.reply?.startsWith("$JS.ACK.")) {
      // Handed over before anyone is told the count went down: the holder counts it by then.
      this.outstandingCount = Math.max(0, this.outstandingCount - 1);
      this.onMessage(toJsMsg(msg, this.options.ackTimeoutMs));
      this.writeOff(0);
      return;
    }
    if (code === 100) return; // idle heartbeat: the requests are alive
    if (code === 404 || code === 408 || code === 409) {
      const left = Number(msg.headers?.get("Nats-Pending-Messages") ?? Number.NaN);
      if (Number.isFinite(left) && left >= 0) {
        this.writeOff(left);
      } else {
        // Ended without saying how much was left (consumer deleted, leadership change).
        this.logger.warn(
          { code, description: msg.headers?.description },
          "window pull requests ended by the server; asking again",
        );
        this.writeOff(this.outstandingCount);
      }
      return;
    }
    this.logger.warn(
      { code, description: msg.headers?.description, subject: msg.subject },
      "unexpected message on the window pull inbox ignored",
    );
  }

  private writeOff(count: number): void {
    this.outstandingCount = Math.max(0, this.outstandingCount - count);
    if (this.outstandingCount === 0) {
      const waiters = this.settledWaiters;
      this.settledWaiters = [];
      for (const settled of waiters) settled();
    }
    this.onChange();
  }

  /** After a reconnect the server may have lost the requests: write them off and ask again. */
  private async watchReconnects(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.stopped) return;
      if (status.type === "reconnect") this.writeOff(this.outstandingCount);
    }
  }
}
