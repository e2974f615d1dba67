import type { Config } from "@deeptrace/shared/config/schema";
import type { Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { spanFromAgentDocument } from "@deeptrace/shared/spans/agent-document";
import type { Client } from "@elastic/elasticsearch";
import type { Logger } from "pino";
import { Backoff, sleep } from "./backoff.js";
import { alignDown, maxBig, minBig, msToNs, nowNs, toRawNs, toWallNs } from "./clock.js";
import { type IndexHit, IndexReader, ReadCursor } from "./index-reader.js";
import { Inventory, type InventoryAgent, type InventorySourceName } from "./inventory.js";
import type { PollerMetrics } from "./metrics.js";
import { type NatsLink, NatsLinkError } from "./nats-link.js";
import { WindowPublisher } from "./publisher.js";
import { RateMeter } from "./rate-meter.js";
import { type BufferedDoc, bufferedSpan, byStartThenId, SpanBuffer } from "./span-buffer.js";
import { type PollerCursor, StateStore, type TimeRange, type WindowRecord } from "./state-store.js";
import { type AgentProgress, agentWatermark, globalWatermark } from "./watermark.js";
import {
  encodeWindow,
  memberCount,
  messageIdFor,
  windowIdFor,
  windowOverheadBytes,
} from "./window-message.js";
import {
  assemblerWindows,
  InstantTooLargeError,
  retiredWindows,
  splitWindow,
  type WindowBounds,
} from "./window-pieces.js";
import { planWindow, type WindowPlan } from "./window-planner.js";

export interface PollerDependencies {
  config: Config;
  logger: Logger;
  es: Client;
  /** Opened by the loop (retried with back-off) before anything is read or published. */
  nats: Pick<NatsLink, "open">;
  metrics: PollerMetrics;
}

interface AgentRuntime {
  agent: InventoryAgent;
  cursor: ReadCursor;
  progress: AgentProgress;
  firstSeenNs: bigint | undefined;
  /** The agent's latest read did not reach the end of its index. */
  backlog: boolean;
  lastError: string | undefined;
  retryAtMs: number;
  backoff: Backoff;
  rate: RateMeter;
}

export interface AgentStatus {
  agent: string;
  index: string;
  cursorTimeNs: bigint;
  cursorDocId: string;
  watermarkNs: bigint;
  lagNs: bigint;
  spansPerSecond: number;
  lastError: string;
  clockOffsetNs: bigint;
}

export interface PollerStatus {
  paused: boolean;
  watermarkNs: bigint;
  agents: AgentStatus[];
  windowsPublished: bigint;
  lateSpans: bigint;
  repairs: bigint;
  lastError: string;
  inventorySource: InventorySourceName;
  nextWindowStartNs: bigint;
}

type PublishKind = "new" | "repair" | "replay";

/**
 * How one window revision goes out: one message, or its pieces when it does not fit, then
 * an empty message for every assembler window an earlier revision used and this one does not.
 */
interface WindowMessages {
  /** Empty when one message holds the whole window. */
  pieces: WindowBounds[];
  retired: WindowBounds[];
  messages: { msgId: string; data: Uint8Array; spanCount: number; memberCount: number }[];
}

/** Room left under max_payload for the message headers (Nats-Msg-Id and protocol). */
const HEADER_ROOM_BYTES = 1024;
/** Ranges per count request of the late-span check. */
const COUNT_CHUNK = 500;

/**
 * The poller: reads every agent index in event-time order, keeps the watermark, cuts
 * windows below it, publishes them durably and repairs windows that late spans reach.
 * One loop does all reading and publishing; control calls that publish (Replay) take the
 * same lock, so the cursor and window records are only ever changed by one task at a time.
 */
export class SpanPoller {
  private readonly section;
  private readonly windowNs: bigint;
  private readonly marginNs: bigint;
  private readonly latenessNs: bigint;
  private readonly refreshMarginNs: bigint;
  /** Largest message body: set when NATS is open (its max_payload is known then). */
  private budgetBytes = 0;
  /** Largest span a message can carry (budget less the message overhead). */
  private maxSpanBytes = 0;
  /** Too-large spans already logged and counted (agent index and document id). */
  private readonly reportedTooLarge = new Set<string>();
  private readonly reader: IndexReader;
  private readonly store: StateStore;
  private readonly inventory: Inventory;
  private publisher: WindowPublisher | undefined;
  private readonly buffer = new SpanBuffer();
  private readonly agents = new Map<string, AgentRuntime>();
  private cursor: PollerCursor = {
    nextStartNs: undefined,
    pending: undefined,
    agents: {},
    gaps: [],
  };
  /** Published windows within the repair horizon, by start time. */
  private recent: WindowRecord[] = [];
  private initialized = false;
  private paused = false;
  private stopping = false;
  private readonly hardStop = new AbortController();
  private wake = new AbortController();
  private loopDone: Promise<void> | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private lastInventoryMs = 0;
  private lastRepairMs = 0;
  private cursorDirty = false;
  private lastError: string | undefined;
  private inventorySource: InventorySourceName = "config";
  private readonly totals = { windows: 0n, lateSpans: 0n, repairs: 0n };

  constructor(private readonly deps: PollerDependencies) {
    const { config } = deps;
    this.section = config.span_poller;
    this.windowNs = msToNs(this.section.window_ms);
    this.marginNs = msToNs(this.section.margin_ms);
    this.latenessNs = msToNs(this.section.allowed_lateness_ms);
    this.refreshMarginNs = msToNs(this.section.refresh_margin_ms);
    this.reader = new IndexReader(deps.es, this.section.page_size);
    this.store = new StateStore(deps.es, `${config.elastic.index_prefix}-poller-state`);
    this.inventory = new Inventory(config);
  }

  start(): void {
    this.loopDone = this.run();
  }

  /**
   * Stops reading, finishes the window in hand (publish and record it) and saves the
   * cursor. After graceMs an unfinished publish is abandoned: it stays recorded as pending
   * and the next start re-publishes it under the same message id.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    const timer = setTimeout(() => this.hardStop.abort(), graceMs);
    try {
      await this.loopDone;
      if (this.initialized) {
        await this.exclusive(async () => {
          this.snapshotAgentCursors();
          await this.durably("save cursor", () => this.store.saveCursor(this.cursor));
        });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Readiness: the state store answered and the loop is not failing. */
  healthy(): boolean {
    return this.initialized && this.lastError === undefined;
  }

  setPaused(paused: boolean): boolean {
    this.paused = paused;
    this.deps.logger.info({ paused }, paused ? "poller paused" : "poller resumed");
    if (!paused) this.wake.abort();
    return this.paused;
  }

  status(): PollerStatus {
    const now = nowNs();
    const agents: AgentStatus[] = [];
    for (const a of this.agents.values()) {
      const watermark = this.watermarkOf(a) ?? 0n;
      agents.push({
        agent: a.agent.name,
        index: a.agent.index,
        cursorTimeNs:
          a.cursor.rawTimeNs === undefined
            ? 0n
            : toWallNs(a.cursor.rawTimeNs, a.agent.clockOffsetNs),
        cursorDocId: a.cursor.lastDocId ?? "",
        watermarkNs: watermark,
        lagNs: watermark === 0n ? 0n : now - watermark,
        spansPerSecond: a.rate.perSecond(),
        lastError: a.lastError ?? "",
        clockOffsetNs: a.agent.clockOffsetNs,
      });
    }
    agents.sort((x, y) => (x.agent < y.agent ? -1 : 1));
    return {
      paused: this.paused,
      watermarkNs: this.watermark() ?? 0n,
      agents,
      windowsPublished: this.totals.windows,
      lateSpans: this.totals.lateSpans,
      repairs: this.totals.repairs,
      lastError: this.lastError ?? this.publisher?.lastError ?? "",
      inventorySource: this.inventorySource,
      nextWindowStartNs: this.cursor.nextStartNs ?? 0n,
    };
  }

  /**
   * Re-publishes the recorded windows overlapping [startNs, endNs) with a new revision,
   * re-read from Elasticsearch. With agents, only windows holding documents of one of them.
   * Messages always carry every agent's spans, so each stays self-contained. Returns how many
   * windows went out and the ids of all their messages (pieces included).
   */
  async replay(
    startNs: bigint,
    endNs: bigint,
    agents: string[],
  ): Promise<{ windows: number; msgIds: string[] }> {
    return this.exclusive(async () => {
      let windows = 0;
      const msgIds: string[] = [];
      for (let token: bigint | undefined; ; ) {
        const page = await this.store.windows({
          fromNs: startNs,
          toNs: endNs,
          size: 500,
          beforeStartNs: token,
        });
        for (const w of page) {
          if (agents.length > 0 && !agents.some((name) => (w.documents[name] ?? 0) > 0)) continue;
          const record = await this.republish(w, "replay");
          windows++;
          msgIds.push(...messageIdsOf(record));
        }
        if (page.length < 500) break;
        token = page[page.length - 1]?.startNs;
      }
      return { windows, msgIds };
    });
  }

  listWindows(options: {
    fromNs: bigint | undefined;
    toNs: bigint | undefined;
    size: number;
    beforeStartNs: bigint | undefined;
  }): Promise<WindowRecord[]> {
    return this.store.windows(options);
  }

  // ---- the loop ----

  private async run(): Promise<void> {
    const backoff = new Backoff(500, this.section.max_backoff_ms);
    while (!this.stopping) {
      let busy = false;
      try {
        busy = await this.exclusive(() => this.step());
        this.lastError = undefined;
        backoff.reset();
      } catch (error) {
        if (this.stopping) break;
        this.lastError = (error as Error).message;
        if (!(error instanceof NatsLinkError)) {
          this.deps.metrics.elasticErrors.inc({ operation: "loop" });
        }
        const waitMs = backoff.fail();
        this.deps.logger.warn({ err: error, retryInMs: waitMs }, "poller step failed; retrying");
        await this.idle(waitMs);
        continue;
      }
      if (!busy) await this.idle(this.section.poll_interval_ms);
    }
  }

  /** One round: inventory, reads, due windows, late-span check. True when more is waiting. */
  private async step(): Promise<boolean> {
    if (!this.initialized) await this.initialize();
    if (Date.now() - this.lastInventoryMs >= this.section.inventory_refresh_ms) {
      await this.refreshInventory();
    }
    if (this.paused) return false;
    const read = await this.pollAgents();
    const published = await this.publishDueWindows();
    if (!this.stopping && Date.now() - this.lastRepairMs >= this.section.repair_interval_ms) {
      await this.checkLateSpans();
      this.lastRepairMs = Date.now();
    }
    if (this.cursorDirty) {
      this.snapshotAgentCursors();
      await this.store.saveCursor(this.cursor);
      this.cursorDirty = false;
    }
    this.updateGauges();
    const backlog = [...this.agents.values()].some((a) => a.backlog && a.retryAtMs <= Date.now());
    return backlog && (read > 0 || published > 0);
  }

  private async initialize(): Promise<void> {
    if (!this.publisher) await this.openNats();
    await this.store.ensureIndex();
    const saved = await this.store.loadCursor();
    if (saved) {
      this.cursor = saved;
    } else if (this.section.start_from === "now") {
      this.cursor.nextStartNs = alignDown(nowNs(), this.windowNs);
    }
    await this.refreshInventory();
    const next = this.cursor.nextStartNs;
    if (next !== undefined) {
      this.recent = (
        await this.store.windows({
          fromNs: next - msToNs(this.section.repair_horizon_ms),
          toNs: undefined,
          size: 10_000,
          ascending: true,
        })
      ).filter((w) => w.startNs < next);
    }
    this.deps.logger.info(
      {
        nextStartNs: next?.toString(),
        pending: this.cursor.pending?.msgId,
        recentWindows: this.recent.length,
        stateIndex: this.store.index,
      },
      "poller state loaded",
    );
    const pending = this.cursor.pending;
    if (pending) await this.republishPending(pending);
    // Only now: a pending window that failed to go out is retried by initializing again,
    // before any new window could take its place.
    this.initialized = true;
  }

  /** Connects to NATS and makes sure the windows stream exists; throws what failed. */
  private async openNats(): Promise<void> {
    const { js, maxPayload } = await this.deps.nats.open();
    const limit = Math.min(maxPayload, this.section.max_message_bytes ?? maxPayload);
    this.budgetBytes = limit - HEADER_ROOM_BYTES;
    this.publisher = new WindowPublisher(
      js,
      this.deps.config.nats.subject,
      this.section.max_backoff_ms,
      this.deps.metrics,
      this.deps.logger,
    );
    this.deps.logger.info(
      { maxPayload, budgetBytes: this.budgetBytes, subject: this.deps.config.nats.subject },
      "connected to NATS; windows stream ready",
    );
  }

  /**
   * A window that was being published when the poller stopped goes out again as the same
   * messages (same pieces, same ids), so JetStream de-duplicates what the first attempt
   * stored; the record keeps the first attempt's document counts, so late spans read now
   * are repaired by the next check. When its spans no longer fit those messages, it goes out
   * as the next revision, cut afresh, and retracts every assembler window the first attempt
   * may have published that the new cut does not use.
   */
  private async republishPending(pending: WindowRecord): Promise<void> {
    const kind: PublishKind = pending.revision === 0 ? "new" : "repair";
    const { spans, documents } = await this.readWindowFromElastic(pending);
    const same = this.encodePieces(pending, spans, pending.pieces, pending.retired);
    if (same) {
      await this.publishRecord(pending, kind, same, { documents: pending.documents });
      return;
    }
    const next = this.recordFor(
      pending.windowId,
      pending.startNs,
      pending.endNs,
      pending.marginNs,
      pending.revision + 1,
    );
    this.deps.logger.info(
      { msgId: pending.msgId, next: next.msgId },
      "pending window no longer fits its first cut; publishing it as the next revision",
    );
    const earlier = [...assemblerWindows(pending), ...pending.retired];
    await this.publishRecord(next, kind, this.messagesFor(next, spans, earlier), { documents });
  }

  private async refreshInventory(): Promise<void> {
    const snapshot = await this.inventory.refresh();
    this.lastInventoryMs = Date.now();
    if (snapshot.error) this.deps.logger.warn({ error: snapshot.error }, "agent inventory");
    this.inventorySource = snapshot.source;
    const seen = new Set<string>();
    for (const agent of snapshot.agents) {
      seen.add(agent.name);
      const existing = this.agents.get(agent.name);
      if (existing && existing.agent.index === agent.index) {
        existing.agent = agent;
        continue;
      }
      if (existing) this.buffer.removeAgent(agent.name);
      this.agents.set(agent.name, {
        agent,
        cursor: new ReadCursor(this.startCursorFor(agent)),
        progress: { maxSeenNs: undefined, caughtUpAtNs: undefined },
        firstSeenNs: undefined,
        backlog: false,
        lastError: undefined,
        retryAtMs: 0,
        backoff: new Backoff(500, this.section.max_backoff_ms),
        rate: new RateMeter(),
      });
      this.deps.logger.info(
        { agent: agent.name, index: agent.index, source: this.inventorySource },
        "agent added",
      );
    }
    for (const name of [...this.agents.keys()]) {
      if (seen.has(name)) continue;
      this.agents.delete(name);
      this.buffer.removeAgent(name);
      this.deps.metrics.lag.remove({ agent: name });
      this.deps.logger.info({ agent: name }, "agent removed");
    }
    this.maxSpanBytes = this.budgetBytes - windowOverheadBytes(this.agentNames());
  }

  /** Where a newly seen agent starts reading: the left margin of the next window. */
  private startCursorFor(agent: InventoryAgent): bigint | undefined {
    const next = this.cursor.nextStartNs;
    return next === undefined ? undefined : toRawNs(next - this.marginNs, agent.clockOffsetNs);
  }

  // ---- reading ----

  private async pollAgents(): Promise<number> {
    let read = 0;
    for (const a of this.agents.values()) {
      if (this.stopping) break;
      if (Date.now() < a.retryAtMs || this.readAheadReached(a)) continue;
      try {
        read += await this.pollAgent(a);
        a.lastError = undefined;
        a.backoff.reset();
      } catch (error) {
        a.lastError = (error as Error).message;
        a.retryAtMs = Date.now() + a.backoff.fail();
        this.deps.metrics.elasticErrors.inc({ operation: "read" });
        this.deps.logger.warn({ agent: a.agent.name, err: error }, "reading agent index failed");
      }
    }
    return read;
  }

  /**
   * An agent that is far enough ahead of the next window waits for the others, so a
   * backlog does not pile up in memory: its watermark already covers the next window.
   */
  private readAheadReached(a: AgentRuntime): boolean {
    const next = this.cursor.nextStartNs;
    const seen = a.progress.maxSeenNs;
    if (next === undefined || seen === undefined) return false;
    return seen >= next + 2n * this.windowNs + this.marginNs + this.latenessNs;
  }

  private async pollAgent(a: AgentRuntime): Promise<number> {
    let read = 0;
    const outcome = await this.reader.read(
      {
        index: a.agent.index,
        fromRawNs: a.cursor.rawTimeNs,
        maxPages: this.section.max_pages_per_poll,
      },
      (hits) => {
        for (const hit of hits) {
          if (!a.cursor.accept(hit)) continue;
          const doc = this.convert(a, hit);
          this.bufferDoc(a.agent.name, doc);
          a.progress.maxSeenNs =
            a.progress.maxSeenNs === undefined
              ? doc.timeNs
              : maxBig(a.progress.maxSeenNs, doc.timeNs);
          if (a.firstSeenNs === undefined || doc.timeNs < a.firstSeenNs) a.firstSeenNs = doc.timeNs;
          read++;
        }
      },
    );
    a.progress.caughtUpAtNs = outcome.caughtUp ? outcome.openedAtNs : undefined;
    a.backlog = !outcome.caughtUp;
    if (read > 0) {
      a.rate.add(read);
      this.deps.metrics.spansRead.inc({ agent: a.agent.name }, read);
    }
    return read;
  }

  /** An agent document as a buffered span; a rejected document is kept as a counted blank. */
  private convert(a: AgentRuntime, hit: IndexHit): BufferedDoc {
    const timeNs = toWallNs(hit.rawStartNs, a.agent.clockOffsetNs);
    try {
      const span = spanFromAgentDocument(hit.source, {
        agent: a.agent.name,
        index: a.agent.index,
        docId: hit.docId,
        clockOffsetNs: a.agent.clockOffsetNs,
      });
      const doc = bufferedSpan(span, hit.docId);
      if (doc.bytes > this.maxSpanBytes) {
        this.reportTooLarge(a, hit.docId, span.spanId, doc.bytes);
        return { timeNs, docId: hit.docId, span: undefined, bytes: 0 };
      }
      return { ...doc, timeNs };
    } catch (error) {
      this.deps.metrics.documentsRejected.inc({ agent: a.agent.name });
      this.deps.logger.debug(
        { agent: a.agent.name, docId: hit.docId, reason: (error as Error).message },
        "document rejected",
      );
      return { timeNs, docId: hit.docId, span: undefined, bytes: 0 };
    }
  }

  /**
   * A span no message can carry is left out of every window, like a rejected document: its
   * document still counts (so it does not look late), it is logged once with what names it
   * and counted. It stays in the agent index: raise the limit and Replay its time range.
   */
  private reportTooLarge(a: AgentRuntime, docId: string, spanId: string, bytes: number): void {
    const key = `${a.agent.index}/${docId}`;
    if (this.reportedTooLarge.has(key)) return;
    if (this.reportedTooLarge.size >= 100_000) this.reportedTooLarge.clear();
    this.reportedTooLarge.add(key);
    this.deps.metrics.spansTooLarge.inc({ agent: a.agent.name });
    this.deps.logger.error(
      {
        agent: a.agent.name,
        index: a.agent.index,
        docId,
        spanId,
        bytes,
        limitBytes: this.maxSpanBytes,
      },
      "span too large for a window message: left out of every window; it stays in the " +
        "agent index (raise max_payload / max_message_bytes and Replay its time range)",
    );
  }

  /** Buffers a document unless every window still to come starts after its margin. */
  private bufferDoc(agent: string, doc: BufferedDoc): void {
    const next = this.cursor.nextStartNs;
    if (next !== undefined && doc.timeNs < next - this.marginNs) return;
    this.buffer.add(agent, doc);
  }

  // ---- windows ----

  private watermarkOf(a: AgentRuntime): bigint | undefined {
    return agentWatermark(a.progress, {
      allowedLatenessNs: this.latenessNs,
      refreshMarginNs: this.refreshMarginNs,
    });
  }

  private watermark(): bigint | undefined {
    return globalWatermark([...this.agents.values()].map((a) => this.watermarkOf(a)));
  }

  private agentNames(): string[] {
    return [...this.agents.keys()].sort();
  }

  private async publishDueWindows(): Promise<number> {
    if (this.cursor.nextStartNs === undefined) this.chooseFirstWindow();
    let published = 0;
    while (!this.stopping && this.cursor.nextStartNs !== undefined) {
      const watermark = this.watermark();
      if (watermark === undefined) break;
      const plan = planWindow(this.cursor.nextStartNs, watermark, this.buffer, {
        windowNs: this.windowNs,
        marginNs: this.marginNs,
        budgetBytes: this.budgetBytes,
        overheadBytes: windowOverheadBytes(this.agentNames()),
      });
      if (plan.kind === "wait") break;
      if (plan.kind === "skip") {
        this.rememberGap(this.cursor.nextStartNs, plan.endNs);
        this.advanceTo(plan.endNs);
        this.cursorDirty = true;
        continue;
      }
      if (plan.kind === "too-large") {
        throw new InstantTooLargeError(plan.startNs, plan.bytes, this.budgetBytes);
      }
      if (await this.mergeMissedDocuments(plan)) continue;
      await this.publishNewWindow(plan);
      published++;
    }
    return published;
  }

  /**
   * With no stored state: the first window starts at the oldest span (less the allowed
   * lateness) once every agent was read.
   */
  private chooseFirstWindow(): void {
    let first: bigint | undefined;
    for (const a of this.agents.values()) {
      if (this.watermarkOf(a) === undefined) return;
      if (a.firstSeenNs !== undefined && (first === undefined || a.firstSeenNs < first)) {
        first = a.firstSeenNs;
      }
    }
    if (first === undefined) return;
    // Spans up to the allowed lateness older than the first one seen may still arrive.
    this.cursor.nextStartNs = alignDown(first - this.latenessNs, this.windowNs);
    this.cursorDirty = true;
  }

  private advanceTo(nextStartNs: bigint): void {
    this.cursor.nextStartNs = nextStartNs;
    this.buffer.dropBefore(nextStartNs - this.marginNs);
  }

  /**
   * Before a window goes out, the documents of its range are counted in Elasticsearch: a
   * document that became visible after the reader had passed its time (late refresh, late
   * write) is read now and merged. True when something was merged (the plan is redone).
   */
  private async mergeMissedDocuments(
    plan: Extract<WindowPlan, { kind: "window" }>,
  ): Promise<boolean> {
    const from = plan.startNs - plan.marginNs;
    const to = plan.endNs + plan.marginNs;
    const agents = [...this.agents.values()];
    const counts = await this.reader.countRanges(
      agents.map((a) => ({
        key: a.agent.name,
        index: a.agent.index,
        fromRawNs: toRawNs(from, a.agent.clockOffsetNs),
        toRawNs: toRawNs(to, a.agent.clockOffsetNs),
      })),
    );
    let merged = false;
    for (const a of agents) {
      const offset = a.agent.clockOffsetNs;
      const inElastic = counts.get(a.agent.name) ?? 0;
      if (inElastic <= this.buffer.documentsIn(a.agent.name, from, to)) continue;
      const hits = await this.reader.readAll(
        a.agent.index,
        toRawNs(from, offset),
        toRawNs(to, offset),
      );
      for (const hit of hits) {
        const doc = this.convert(a, hit);
        if (this.buffer.add(a.agent.name, doc)) merged = true;
      }
    }
    if (merged)
      this.deps.logger.info(
        { startNs: plan.startNs.toString() },
        "merged documents that became visible late",
      );
    return merged;
  }

  private async publishNewWindow(plan: Extract<WindowPlan, { kind: "window" }>): Promise<void> {
    const from = plan.startNs - plan.marginNs;
    const to = plan.endNs + plan.marginNs;
    const documents: Record<string, number> = {};
    for (const name of this.agents.keys())
      documents[name] = this.buffer.documentsIn(name, from, to);
    const windowId = windowIdFor(plan.startNs, plan.endNs);
    const record = this.recordFor(windowId, plan.startNs, plan.endNs, plan.marginNs, 0);
    const messages = this.messagesFor(record, this.buffer.spansIn(from, to), []);
    await this.publishRecord(record, "new", messages, { documents });
  }

  private recordFor(
    windowId: string,
    startNs: bigint,
    endNs: bigint,
    marginNs: bigint,
    revision: number,
  ): WindowRecord {
    return {
      windowId,
      startNs,
      endNs,
      marginNs,
      revision,
      msgId: messageIdFor(windowId, revision),
      pieces: [],
      retired: [],
      spanCount: 0,
      memberCount: 0,
      payloadBytes: 0,
      publishedAtNs: 0n,
      documents: {},
    };
  }

  /**
   * A window revision as one message, or, when it does not fit (a repair or replay that late
   * spans made larger), cut into pieces that each fit. A piece is an assembler window of its
   * own (id `w-<start>-<end>` of its range) at this revision. `earlier` are the assembler
   * windows earlier revisions used (the window itself, or its earlier pieces): those this
   * revision does not use again are retracted with an empty message at this revision, so the
   * assembler drops what they produced (see the README: windows that outgrow a message).
   */
  private messagesFor(base: WindowRecord, spans: Span[], earlier: WindowBounds[]): WindowMessages {
    const whole = this.encodePieces(base, spans, [], retiredWindows(earlier, [base]));
    if (whole) return whole;
    const sizes = new SpanBuffer();
    for (const span of spans) sizes.add("", bufferedSpan(span, span.spanId));
    const overhead = windowOverheadBytes(this.agentNames());
    const pieces = splitWindow(base, sizes, this.budgetBytes, overhead);
    const cut = this.encodePieces(base, spans, pieces, retiredWindows(earlier, pieces));
    if (!cut) {
      throw new Error(
        `window ${base.windowId} cut into ${pieces.length} pieces still has a message over ` +
          `${this.budgetBytes} bytes`,
      );
    }
    return cut;
  }

  /**
   * The messages of a cut ([] = the whole window) and the retractions; undefined when a
   * message does not fit.
   */
  private encodePieces(
    base: WindowRecord,
    spans: Span[],
    pieces: WindowBounds[],
    retired: WindowBounds[],
  ): WindowMessages | undefined {
    const messages = [];
    const retractions = retired.map((w) => ({ ...w, marginNs: 0n, spans: [] as Span[] }));
    const windows = assemblerWindows({ ...base, pieces }).map((w) => ({
      ...w,
      spans: spans.filter(
        (s) => s.startTimeNs >= w.startNs - w.marginNs && s.startTimeNs < w.endNs + w.marginNs,
      ),
    }));
    for (const w of [...windows, ...retractions]) {
      const windowId = windowIdFor(w.startNs, w.endNs);
      const data = encodeWindow({
        windowId,
        startNs: w.startNs,
        endNs: w.endNs,
        marginNs: w.marginNs,
        revision: base.revision,
        spans: w.spans,
        agents: this.agentNames(),
      });
      if (data.length > this.budgetBytes) return undefined;
      messages.push({
        msgId: messageIdFor(windowId, base.revision),
        data,
        spanCount: w.spans.length,
        memberCount: memberCount(w.spans, w.startNs, w.endNs),
      });
    }
    return { pieces, retired, messages };
  }

  /**
   * Publishes one window revision durably: recorded as pending first (with its pieces),
   * then every message published until JetStream stores it, then recorded as published with
   * the cursor moved past it.
   */
  private async publishRecord(
    base: WindowRecord,
    kind: PublishKind,
    out: WindowMessages,
    counts: { documents: Record<string, number> },
  ): Promise<WindowRecord> {
    const record: WindowRecord = {
      ...base,
      pieces: out.pieces,
      retired: out.retired,
      spanCount: out.messages.reduce((n, m) => n + m.spanCount, 0),
      memberCount: out.messages.reduce((n, m) => n + m.memberCount, 0),
      payloadBytes: Math.max(...out.messages.map((m) => m.data.length)),
      documents: counts.documents,
    };
    if (this.cursor.pending?.msgId !== record.msgId) {
      this.cursor.pending = record;
      await this.store.saveCursor(this.cursor);
    }
    let duplicates = 0;
    for (const m of out.messages) {
      const ack = await this.requirePublisher().publish(m.msgId, m.data, this.hardStop.signal);
      if (ack.duplicate) duplicates++;
    }
    record.publishedAtNs = nowNs();
    this.cursor.pending = undefined;
    if (
      kind === "new" &&
      (this.cursor.nextStartNs === undefined || record.endNs > this.cursor.nextStartNs)
    ) {
      this.advanceTo(record.endNs);
    }
    this.remember(record);
    this.snapshotAgentCursors();
    await this.durably("record window", () => this.store.saveWindow(record, this.cursor));
    this.cursorDirty = false;
    const m = this.deps.metrics;
    m.windowsPublished.inc({ kind });
    if (out.pieces.length > 0) m.windowsSplit.inc({ kind });
    if (kind === "new") m.spansPublished.inc(record.memberCount);
    for (const message of out.messages) m.windowBytes.observe(message.data.length);
    this.totals.windows++;
    this.deps.logger.debug(
      {
        msgId: record.msgId,
        kind,
        pieces: out.pieces.length,
        retired: out.retired.length,
        spans: record.spanCount,
        members: record.memberCount,
        bytes: record.payloadBytes,
        duplicates,
      },
      "window published",
    );
    return record;
  }

  /**
   * A range skipped because no span was known there: spans that arrive there late (an agent
   * that could not write for a while) get windows of their own while it is within the repair
   * horizon. Kept in the cursor, so a restart keeps checking it.
   */
  private rememberGap(startNs: bigint, endNs: bigint): void {
    const horizonStart = endNs - msToNs(this.section.repair_horizon_ms);
    const gaps = this.cursor.gaps;
    const last = gaps[gaps.length - 1];
    if (last && last.endNs === startNs) last.endNs = endNs;
    else gaps.push({ startNs, endNs });
    this.cursor.gaps = gaps.filter((g) => g.endNs >= horizonStart);
  }

  private remember(record: WindowRecord): void {
    const horizonStart =
      (this.cursor.nextStartNs ?? record.endNs) - msToNs(this.section.repair_horizon_ms);
    this.recent = this.recent.filter(
      (w) => w.windowId !== record.windowId && w.endNs >= horizonStart,
    );
    this.recent.push(record);
    this.recent.sort((x, y) => (x.startNs < y.startNs ? -1 : x.startNs > y.startNs ? 1 : 0));
  }

  // ---- late spans ----

  /**
   * Counts the documents of every recent window's range again; a window whose range now
   * holds more documents of some agent than its message was built from is re-read and
   * re-published with the next revision.
   */
  private async checkLateSpans(): Promise<void> {
    await this.checkGaps();
    if (this.recent.length === 0) return;
    const due = new Set<string>();
    // One count per agent and window, all agents' indices in one request per chunk.
    const ranges = [...this.agents.values()].flatMap((a) =>
      this.recent.map((w) => ({
        key: `${a.agent.name}|${w.windowId}`,
        index: a.agent.index,
        fromRawNs: toRawNs(w.startNs - w.marginNs, a.agent.clockOffsetNs),
        toRawNs: toRawNs(w.endNs + w.marginNs, a.agent.clockOffsetNs),
        agent: a.agent.name,
        window: w,
      })),
    );
    for (let i = 0; i < ranges.length; i += COUNT_CHUNK) {
      const chunk = ranges.slice(i, i + COUNT_CHUNK);
      const counts = await this.reader.countRanges(chunk);
      for (const r of chunk) {
        if ((counts.get(r.key) ?? 0) > (r.window.documents[r.agent] ?? 0)) {
          due.add(r.window.windowId);
        }
      }
    }
    for (const w of [...this.recent]) {
      if (this.stopping) return;
      if (due.has(w.windowId)) await this.republish(w, "repair");
    }
  }

  /**
   * Counts the documents of every skipped range again, one grid window at a time; a grid
   * window that now holds documents is read and published (revision 0) like a window that
   * was due, and from then on is checked as a published one. The rest stays a gap.
   */
  private async checkGaps(): Promise<void> {
    if (this.cursor.gaps.length === 0) return;
    const cells: TimeRange[] = [];
    for (const g of this.cursor.gaps) {
      for (let t = g.startNs; t < g.endNs; ) {
        const end = minBig(alignDown(t, this.windowNs) + this.windowNs, g.endNs);
        cells.push({ startNs: t, endNs: end });
        t = end;
      }
    }
    const ranges = cells.flatMap((c, cell) =>
      [...this.agents.values()].map((a) => ({
        key: `${cell}|${a.agent.name}`,
        cell,
        index: a.agent.index,
        fromRawNs: toRawNs(c.startNs, a.agent.clockOffsetNs),
        toRawNs: toRawNs(c.endNs, a.agent.clockOffsetNs),
      })),
    );
    const found = new Set<number>();
    for (let i = 0; i < ranges.length; i += COUNT_CHUNK) {
      const chunk = ranges.slice(i, i + COUNT_CHUNK);
      const counts = await this.reader.countRanges(chunk);
      for (const r of chunk) if ((counts.get(r.key) ?? 0) > 0) found.add(r.cell);
    }
    if (found.size === 0) return;
    // A cell stays a gap until its window is published: one not reached before a stop (or
    // a crash, as the cursor saved with each window still lists it) is found again.
    const published = new Set<number>();
    for (const cell of [...found].sort((a, b) => a - b)) {
      if (this.stopping) break;
      const c = cells[cell] as TimeRange;
      const id = windowIdFor(c.startNs, c.endNs);
      await this.republish(this.recordFor(id, c.startNs, c.endNs, this.marginNs, -1), "repair");
      published.add(cell);
    }
    this.cursor.gaps = cells.filter((_, cell) => !published.has(cell));
    this.cursorDirty = true;
  }

  /** Re-reads a published window from Elasticsearch and publishes its next revision. */
  private async republish(w: WindowRecord, kind: "repair" | "replay"): Promise<WindowRecord> {
    const { spans, documents } = await this.readWindowFromElastic(w);
    const base = this.recordFor(w.windowId, w.startNs, w.endNs, w.marginNs, w.revision + 1);
    const messages = this.messagesFor(base, spans, assemblerWindows(w));
    const record = await this.publishRecord(base, kind, messages, { documents });
    if (kind === "repair") {
      const late = Math.max(0, record.memberCount - w.memberCount);
      this.deps.metrics.repairs.inc();
      this.deps.metrics.lateSpans.inc(late);
      this.totals.repairs++;
      this.totals.lateSpans += BigInt(late);
      this.deps.logger.info({ msgId: record.msgId, lateSpans: late }, "window repaired");
    }
    return record;
  }

  /** Every agent's documents of a window's range, read fresh (also merged into the buffer). */
  private async readWindowFromElastic(
    w: WindowRecord,
  ): Promise<{ spans: Span[]; documents: Record<string, number> }> {
    const from = w.startNs - w.marginNs;
    const to = w.endNs + w.marginNs;
    const spans: Span[] = [];
    const documents: Record<string, number> = {};
    for (const a of this.agents.values()) {
      const offset = a.agent.clockOffsetNs;
      const hits = await this.reader.readAll(
        a.agent.index,
        toRawNs(from, offset),
        toRawNs(to, offset),
      );
      documents[a.agent.name] = hits.length;
      for (const hit of hits) {
        const doc = this.convert(a, hit);
        if (doc.span) spans.push(doc.span);
        this.bufferDoc(a.agent.name, doc);
      }
    }
    return { spans: spans.sort(byStartThenId), documents };
  }

  // ---- helpers ----

  private snapshotAgentCursors(): void {
    const agents: PollerCursor["agents"] = {};
    for (const a of this.agents.values()) {
      if (a.cursor.rawTimeNs === undefined) continue;
      agents[a.agent.name] = {
        rawTimeNs: a.cursor.rawTimeNs.toString(),
        docId: a.cursor.lastDocId ?? "",
      };
    }
    this.cursor.agents = agents;
  }

  private updateGauges(): void {
    const now = nowNs();
    for (const a of this.agents.values()) {
      const w = this.watermarkOf(a);
      if (w !== undefined)
        this.deps.metrics.lag.set({ agent: a.agent.name }, Number(now - w) / 1e9);
    }
    if (this.cursor.nextStartNs !== undefined) {
      this.deps.metrics.publishLag.set(Number(now - this.cursor.nextStartNs) / 1e9);
    }
  }

  /** Retries an Elasticsearch write that must not be lost until it succeeds or the hard stop. */
  private async durably(what: string, write: () => Promise<void>): Promise<void> {
    const backoff = new Backoff(200, this.section.max_backoff_ms);
    for (;;) {
      try {
        await write();
        return;
      } catch (error) {
        if (this.hardStop.signal.aborted) throw error;
        this.deps.metrics.elasticErrors.inc({ operation: "state" });
        const waitMs = backoff.fail();
        this.deps.logger.warn(
          { err: error, what, retryInMs: waitMs },
          "state write failed; retrying",
        );
        await sleep(waitMs, this.hardStop.signal);
      }
    }
  }

  private requirePublisher(): WindowPublisher {
    if (!this.publisher) throw new Error("NATS is not open yet");
    return this.publisher;
  }

  private async idle(ms: number): Promise<void> {
    if (this.stopping) return;
    this.wake = new AbortController();
    await sleep(ms, this.wake.signal);
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task, task);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/** The message ids a recorded window revision went out as (retractions included). */
function messageIdsOf(record: WindowRecord): string[] {
  return [...assemblerWindows(record), ...record.retired].map((w) =>
    messageIdFor(windowIdFor(w.startNs, w.endNs), record.revision),
  );
}
