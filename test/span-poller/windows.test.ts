import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningService, startService } from "../support/service-process.js";
import {
  eventually,
  pollerClient,
  type Scenario,
  SpanWriter,
  scenario,
  WindowCollector,
  windowProblems,
  writeConfig,
} from "./poller-harness.js";

const MS = 1_000_000n;
const MAX_MESSAGE_BYTES = 2_000_000;

/** A deterministic shuffle, so documents are written out of event-time order. */
function shuffled<T>(items: T[], seed = 7): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("span-poller windows against Elasticsearch and JetStream", () => {
  const s: Scenario = scenario("win", 3);
  const writer = new SpanWriter(s);
  const collector = new WindowCollector(s);
  let poller: RunningService;
  let config: string;
  // Historical spans: 30 s ago, so every agent is idle and caught up once they are read.
  // On the 1 s window grid, so the crowded second below is one window before it shrinks.
  const base = (BigInt(Date.now()) / 1_000n - 30n) * 1_000n * MS;
  const sameInstant = base + 4_500n * MS;

  /**
   * Writes `count` late spans from `gap` on, `stepNs` apart over the three agents, and
   * expects them all published, with a first-revision window of its own covering `gap`.
   */
  async function expectLateSpansWindowed(
    gap: bigint,
    count: number,
    stepNs: number,
    where: string,
  ) {
    const late = Array.from({ length: count }, (_, i) => ({
      agent: i % 3,
      wallNs: gap + BigInt(i * stepNs),
    }));
    await writer.write(late, true);
    await eventually(`spans in ${where}`, () => windowProblems(collector.received, writer.written));
    const windows = collector.received.map((r) => r.window);
    expect(windows.some((w) => w.startNs <= gap && gap < w.endNs && w.revision === 0)).toBe(true);
  }

  beforeAll(async () => {
    await writer.createIndices();
    const docs: { agent: number; wallNs: bigint }[] = [];
    for (let i = 0; i < 900; i++) docs.push({ agent: i % 3, wallNs: base + BigInt(i * 8_888_887) });
    // Thousands of spans sharing one timestamp, and a crowded second around them that
    // does not fit into one message: the window must shrink.
    for (let i = 0; i < 3_000; i++) docs.push({ agent: 0, wallNs: sameInstant });
    for (let i = 0; i < 5_000; i++) {
      docs.push({ agent: 1 + (i % 2), wallNs: base + 4_000n * MS + BigInt(i * 199_999) });
    }
    await writer.write(shuffled(docs), true);
    config = writeConfig(s, {
      window_ms: 1_000,
      margin_ms: 200,
      allowed_lateness_ms: 1_500,
      refresh_margin_ms: 1_000,
      poll_interval_ms: 200,
      page_size: 700,
      repair_interval_ms: 500,
      max_message_bytes: MAX_MESSAGE_BYTES,
    });
    poller = await startService("span-poller", { config });
    await collector.start();
  });

  afterAll(async () => {
    await poller?.stop();
    await collector.stop();
    await writer.cleanup();
  });

  it("publishes every span as a member of exactly one window, with complete context", async () => {
    await eventually("historical spans", () => windowProblems(collector.received, writer.written));
    const windows = collector.received.map((r) => r.window);
    const withInstant = windows.filter(
      (w) => w.startNs <= sameInstant && sameInstant < w.endNs && w.revision === 0,
    );
    expect(withInstant).toHaveLength(1);
    expect(
      withInstant[0]?.spans.filter((sp) => sp.startTimeNs === sameInstant).length,
    ).toBeGreaterThanOrEqual(3_000);
    // The crowded second was cut into shorter windows, each under the size limit.
    expect(windows.map((w) => w.endNs - w.startNs).filter((d) => d < 1_000n * MS)).not.toEqual([]);
    const sizes = collector.received.map((r) => r.window.spans.length);
    expect(Math.max(...sizes)).toBeGreaterThan(3_000);
    const status = await pollerClient(poller.grpc).getStatus({});
    expect(status.agents.map((a) => a.agent)).toEqual(s.agents.map((a) => a.name).sort());
    expect(status.agents.map((a) => a.clockOffsetNs)).toEqual(
      [...s.agents].sort((x, y) => (x.name < y.name ? -1 : 1)).map((a) => a.offsetNs),
    );
    expect(status.agents.map((a) => a.lastError)).toEqual(["", "", ""]);
    const listed = await pollerClient(poller.grpc).listWindows({ pageSize: 1_000 });
    expect(listed.windows.every((w) => Number(w.payloadBytes) <= MAX_MESSAGE_BYTES)).toBe(true);
    expect(listed.windows.length).toBe(new Set(windows.map((w) => w.windowId)).size);
  });

  it("re-publishes windows that late spans reach, with a new revision and message id", async () => {
    const late: { agent: number; wallNs: bigint }[] = [];
    for (let i = 0; i < 150; i++) {
      late.push({ agent: i % 3, wallNs: base + 1_000n * MS + BigInt(i * 33_333_331) });
    }
    await writer.write(late, true);
    await eventually("late spans", () => windowProblems(collector.received, writer.written));
    const status = await pollerClient(poller.grpc).getStatus({});
    expect(status.lateSpans).toBe(150n);
    expect(status.repairs).toBeGreaterThan(0n);
    expect(collector.received.some((r) => r.msgId.endsWith(".r1"))).toBe(true);
  });

  it("publishes spans that arrive late in a range it had skipped as empty", async () => {
    // base + 20 s lies between the historical spans and now: every agent was caught up, so
    // the poller passed it with nothing to publish. An agent that could not write for a
    // while (Elasticsearch down) delivers such spans late.
    await expectLateSpansWindowed(base + 20_000n * MS, 90, 22_222_221, "a skipped range");
  });

  it("keeps checking the ranges it skipped after a restart", async () => {
    // The skipped ranges are kept with the cursor: spans an agent delivers there after the
    // poller restarted are still found.
    const gap = base + 25_000n * MS;
    await eventually("the poller past the range", async () => {
      const { nextWindowStartNs } = await pollerClient(poller.grpc).getStatus({});
      return nextWindowStartNs > gap + 2_000n * MS ? [] : [`next window ${nextWindowStartNs}`];
    });
    await poller.stop();
    poller = await startService("span-poller", { config });
    await expectLateSpansWindowed(gap, 60, 11_111_111, "a range skipped before the restart");
  });

  it("windows live spans of agents with different clocks, written out of order", async () => {
    for (let round = 0; round < 6; round++) {
      const now = BigInt(Date.now()) * MS;
      const docs: { agent: number; wallNs: bigint }[] = [];
      for (let i = 0; i < 60; i++)
        docs.push({ agent: i % 3, wallNs: now - BigInt((i * 7_919) % 1_000) * MS });
      // Without a refresh: the documents become visible with the index's own refresh.
      await writer.write(shuffled(docs, round + 1), false);
      await new Promise((r) => setTimeout(r, 300));
    }
    await eventually("live spans", () => windowProblems(collector.received, writer.written));
  });

  it("replays a time range as new revisions of the recorded windows", async () => {
    const client = pollerClient(poller.grpc);
    const before = collector.received.length;
    const replay = await client.replay({
      startTimeNs: base + 2_000n * MS,
      endTimeNs: base + 3_000n * MS,
      agents: [],
    });
    expect(replay.windowsPublished).toBeGreaterThan(0);
    await eventually("replayed windows", () =>
      collector.received.length >= before + replay.windowsPublished
        ? windowProblems(collector.received, writer.written)
        : ["replayed windows not received yet"],
    );
    const received = new Set(collector.received.map((r) => r.msgId));
    expect(replay.windowIds.every((id) => received.has(id))).toBe(true);
  });
});
