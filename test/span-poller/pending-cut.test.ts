import { afterEach, describe, expect, it } from "vitest";
import { StateStore, type WindowRecord } from "../../services/span-poller/src/state-store.js";
import { messageIdFor, windowIdFor } from "../../services/span-poller/src/window-message.js";
import type { WindowBounds } from "../../services/span-poller/src/window-pieces.js";
import { type RunningService, startService } from "../support/service-process.js";
import {
  eventually,
  type Scenario,
  SpanWriter,
  scenario,
  WindowCollector,
  windowProblems,
  writeConfig,
} from "./poller-harness.js";

const MS = 1_000_000n;
const MARGIN = 100n * MS;

/**
 * A poller that stopped while it was publishing a window cut into pieces finds that window
 * as pending in its state at start. These tests write such a state (as a crash would leave
 * it) and check what the restarted poller publishes.
 */
describe("span-poller re-publishing a pending cut window at start", () => {
  let poller: RunningService | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * 300 spans in the window [t0 + 1 s, t0 + 2 s), more from t0 + 2.5 s; the state says the
   * window's revision 1 was being published as `pieces`, everything before it published.
   */
  async function crashedWhilePublishing(
    label: string,
    cut: (windowStartNs: bigint) => WindowBounds[],
  ) {
    const s: Scenario = scenario(label, 2);
    const writer = new SpanWriter(s);
    const collector = new WindowCollector(s);
    cleanups.push(
      () => writer.cleanup(),
      () => collector.stop(),
    );
    const base = (BigInt(Date.now()) / 1_000n - 30n) * 1_000n * MS;
    const window = { startNs: base + 1_000n * MS, endNs: base + 2_000n * MS };
    await writer.createIndices();
    const docs = Array.from({ length: 300 }, (_, i) => ({
      agent: i % 2,
      wallNs: window.startNs + BigInt(i) * 3_333_333n,
    }));
    for (let i = 0; i < 40; i++) {
      docs.push({ agent: i % 2, wallNs: base + 2_500n * MS + BigInt(i) * 25n * MS });
    }
    await writer.write(docs, true);
    const windowId = windowIdFor(window.startNs, window.endNs);
    const pending: WindowRecord = {
      windowId,
      ...window,
      marginNs: MARGIN,
      revision: 1,
      msgId: messageIdFor(windowId, 1),
      pieces: cut(window.startNs),
      retired: [{ ...window, marginNs: 0n }],
      spanCount: 0,
      memberCount: 0,
      payloadBytes: 0,
      publishedAtNs: 0n,
      documents: Object.fromEntries(s.agents.map((a) => [a.name, 150])),
    };
    const store = new StateStore(writer.es, `${s.prefix}-poller-state`);
    await store.ensureIndex();
    await store.saveCursor({ nextStartNs: window.endNs, pending, agents: {}, gaps: [] });
    poller = await startService("span-poller", {
      config: writeConfig(s, {
        window_ms: 1_000,
        margin_ms: Number(MARGIN / MS),
        allowed_lateness_ms: 1_000,
        refresh_margin_ms: 500,
        poll_interval_ms: 200,
        repair_interval_ms: 500,
        max_backoff_ms: 1_000,
        max_message_bytes: 40_000,
      }),
    });
    await collector.start();
    await eventually("every span", () => windowProblems(collector.received, writer.written));
    const inWindow = collector.received
      .filter((r) => r.window.startNs >= window.startNs && r.window.endNs <= window.endNs)
      .map((r) => r.msgId);
    return { windowId, windowStart: window.startNs, inWindow, received: collector.received };
  }

  /** Pieces of `count` equal parts of the window [t0 + 1 s, t0 + 2 s) of the test. */
  function equalPieces(count: number): (startNs: bigint) => WindowBounds[] {
    return (startNs) =>
      Array.from({ length: count }, (_, k) => ({
        startNs: startNs + (BigInt(k) * 1_000n * MS) / BigInt(count),
        endNs: startNs + (BigInt(k + 1) * 1_000n * MS) / BigInt(count),
        marginNs: MARGIN,
      }));
  }

  it("publishes the same messages again when the spans still fit them", async () => {
    const { windowId, windowStart, inWindow, received } = await crashedWhilePublishing(
      "pcsame",
      equalPieces(10),
    );
    const expected = equalPieces(10)(windowStart).map(
      (p) => `${windowIdFor(p.startNs, p.endNs)}.r1`,
    );
    expect(inWindow.sort()).toEqual([...expected, `${windowId}.r1`].sort());
    expect(received.some((r) => r.window.revision > 1)).toBe(false);
  });

  it("publishes the next revision cut afresh, retracting the first cut, when they no longer fit", async () => {
    const { windowId, windowStart, inWindow, received } = await crashedWhilePublishing(
      "pcnext",
      equalPieces(2),
    );
    const firstCut = equalPieces(2)(windowStart).map((p) => windowIdFor(p.startNs, p.endNs));
    // Nothing of revision 1 went out; revision 2 retracts the window and the first cut.
    expect(inWindow.filter((id) => id.endsWith(".r1"))).toEqual([]);
    const retracted = received
      .filter((r) => r.window.revision === 2 && r.window.spans.length === 0)
      .map((r) => r.window.windowId);
    expect(retracted.sort()).toEqual([windowId, ...firstCut].sort());
    const pieces = received.filter((r) => r.window.revision === 2 && r.window.spans.length > 0);
    expect(pieces.length).toBeGreaterThan(2);
    expect(received.every((r) => r.bytes <= 40_000)).toBe(true);
  });
});
