import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningService, startService } from "../support/service-process.js";
import {
  eventually,
  pollerClient,
  type Received,
  type Scenario,
  SpanWriter,
  scenario,
  WindowCollector,
  windowProblems,
  writeConfig,
} from "./poller-harness.js";

const MS = 1_000_000n;
const MAX_MESSAGE_BYTES = 40_000;

/** Messages of a revision within [fromNs, toNs) that carry spans. */
function withSpans(received: Received[], revision: number, fromNs: bigint, toNs: bigint) {
  return received.filter(
    (r) =>
      r.window.revision === revision &&
      r.window.spans.length > 0 &&
      r.window.startNs >= fromNs &&
      r.window.endNs <= toNs,
  );
}

/** Empty messages of a revision: window ids retracted because their range was cut anew. */
function retractions(received: Received[], revision: number): Received[] {
  return received.filter((r) => r.window.revision === revision && r.window.spans.length === 0);
}

describe("span-poller messages stay under max_message_bytes", () => {
  const s: Scenario = scenario("size", 2);
  const writer = new SpanWriter(s);
  const collector = new WindowCollector(s);
  let poller: RunningService;
  // Historical spans, on the 1 s grid: every agent is idle and caught up once they are read.
  const base = (BigInt(Date.now()) / 1_000n - 30n) * 1_000n * MS;
  let tooLarge: string;

  beforeAll(async () => {
    await writer.createIndices();
    const docs = Array.from({ length: 60 }, (_, i) => ({
      agent: i % 2,
      wallNs: base + BigInt(i) * 49_999_999n,
    }));
    await writer.write(docs, true);
    // One span larger than any message may be, among the others.
    const big = { agent: 1, wallNs: base + 2_500n * MS, requestBytes: 60_000 };
    tooLarge = (await writer.write([big], true))[0] as string;
    writer.written.delete(tooLarge);
    poller = await startService("span-poller", {
      config: writeConfig(s, {
        window_ms: 1_000,
        margin_ms: 100,
        allowed_lateness_ms: 1_000,
        refresh_margin_ms: 500,
        poll_interval_ms: 200,
        repair_interval_ms: 500,
        max_backoff_ms: 1_000,
        max_message_bytes: MAX_MESSAGE_BYTES,
      }),
    });
    await collector.start();
  });

  afterAll(async () => {
    await poller?.stop();
    await collector.stop();
    await writer.cleanup();
  });

  it("leaves out a span no message can carry, names it in the log and counts it", async () => {
    await eventually("windows of the other spans", () =>
      windowProblems(collector.received, writer.written),
    );
    const carried = collector.received.flatMap((r) => r.window.spans.map((sp) => sp.spanId));
    expect(carried).not.toContain(tooLarge);
    expect(collector.received.every((r) => r.bytes <= MAX_MESSAGE_BYTES)).toBe(true);
    expect((await pollerClient(poller.grpc).getStatus({})).lastError).toBe("");
    const agent = s.agents[1];
    const logged = poller.output.filter((l) => l.includes("span too large"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`"spanId":"${tooLarge}"`);
    expect(logged[0]).toContain(`"index":"${agent?.index}"`);
    expect(logged[0]).toMatch(/"docId":"d\d+"/);
    const metrics = await (await fetch(`http://${poller.http}/metrics`)).text();
    const counted = new RegExp(
      `^deeptrace_poller_spans_too_large_total\\{agent="${agent?.name}"[^}]*\\} 1$`,
      "m",
    );
    expect(metrics).toMatch(counted);
  });

  it("cuts a repaired window that late spans made too large into pieces under the limit", async () => {
    const late = Array.from({ length: 300 }, (_, i) => ({
      agent: i % 2,
      wallNs: base + 1_000n * MS + BigInt(i) * 3_333_333n,
    }));
    await writer.write(late, true);
    await eventually("late spans", () => windowProblems(collector.received, writer.written));
    const status = await pollerClient(poller.grpc).getStatus({});
    expect(status.lateSpans).toBe(300n);
    expect(status.lastError).toBe("");
    // The repaired second went out as several windows of its own, and its own id (holding
    // revision 0's traces) was retracted at the same revision.
    const repaired = `w-${base + 1_000n * MS}-${base + 2_000n * MS}`;
    const pieces = withSpans(collector.received, 1, base + 1_000n * MS, base + 2_000n * MS);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.map((r) => r.window.windowId)).not.toContain(repaired);
    expect(retractions(collector.received, 1).map((r) => r.msgId)).toEqual([`${repaired}.r1`]);
    expect(collector.received.every((r) => r.bytes <= MAX_MESSAGE_BYTES)).toBe(true);
    const metrics = await (await fetch(`http://${poller.http}/metrics`)).text();
    expect(metrics).toMatch(/^deeptrace_poller_windows_split_total\{kind="repair"[^}]*\} 1$/m);
  });

  it("cuts a replayed window the same way, and names every piece in the reply", async () => {
    const replay = await pollerClient(poller.grpc).replay({
      startTimeNs: base + 1_000n * MS,
      endTimeNs: base + 2_000n * MS,
      agents: [],
    });
    expect(replay.windowsPublished).toBe(1);
    const range = [base + 1_000n * MS, base + 2_000n * MS] as const;
    const pieces = withSpans(collector.received, 1, ...range);
    // The same spans cut the same way: the same window ids at the next revision, nothing to retract.
    expect(replay.windowIds).toEqual(pieces.map((r) => `${r.window.windowId}.r2`));
    await eventually("replayed pieces", () => {
      const received = new Set(collector.received.map((r) => r.msgId));
      const missing = replay.windowIds.filter((id) => !received.has(id));
      return missing.length > 0 ? missing : windowProblems(collector.received, writer.written);
    });
    expect(withSpans(collector.received, 2, ...range).map((r) => r.msgId)).toEqual(
      replay.windowIds,
    );
    expect(retractions(collector.received, 2)).toEqual([]);
    expect(collector.received.every((r) => r.bytes <= MAX_MESSAGE_BYTES)).toBe(true);
  });
});
