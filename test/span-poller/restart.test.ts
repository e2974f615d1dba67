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

describe("span-poller restarted mid-stream", () => {
  const s: Scenario = scenario("rst", 2);
  const writer = new SpanWriter(s);
  const collector = new WindowCollector(s);
  let config: string;
  let poller: RunningService | undefined;
  let writing = true;
  let writes: Promise<void> | undefined;

  /** Agents keep writing spans of the last second, out of order, until told to stop. */
  async function writeContinuously(): Promise<void> {
    for (let round = 0; writing; round++) {
      const now = BigInt(Date.now()) * MS;
      const docs = Array.from({ length: 40 }, (_, i) => ({
        agent: i % 2,
        wallNs: now - BigInt((i * 7_919 + round * 131) % 900) * MS,
      }));
      await writer.write(docs, false);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async function windowsPublished(atLeast: number): Promise<void> {
    const client = pollerClient((poller as RunningService).grpc);
    await eventually(`${atLeast} windows published`, async () => {
      const status = await client.getStatus({});
      return status.windowsPublished >= BigInt(atLeast) ? [] : [`${status.windowsPublished}`];
    });
  }

  beforeAll(async () => {
    await writer.createIndices();
    config = writeConfig(s, {
      window_ms: 500,
      margin_ms: 200,
      allowed_lateness_ms: 1_200,
      refresh_margin_ms: 1_000,
      poll_interval_ms: 100,
      repair_interval_ms: 500,
    });
    writes = writeContinuously();
    poller = await startService("span-poller", { config });
    await collector.start();
  });

  afterAll(async () => {
    writing = false;
    await writes;
    await poller?.stop();
    await collector.stop();
    await writer.cleanup();
  });

  it("misses no span and publishes no window twice under different ids", async () => {
    await windowsPublished(3);
    // A graceful stop: the window in hand is finished and the cursor saved.
    expect(await poller?.stop()).toBe(0);
    await new Promise((r) => setTimeout(r, 700));
    poller = await startService("span-poller", { config });
    await windowsPublished(3);
    // A crash: whatever was in flight is re-published under the same message id.
    poller.process.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 700));
    poller = await startService("span-poller", { config });
    await windowsPublished(3);
    writing = false;
    await writes;
    await eventually("all spans", () => windowProblems(collector.received, writer.written));
    // Every window id was cut once: one start and end per id, and ids never overlap.
    const bounds = new Map<string, string>();
    for (const { window } of collector.received) {
      const b = `${window.startNs}-${window.endNs}`;
      expect(bounds.get(window.windowId) ?? b).toBe(b);
      bounds.set(window.windowId, b);
    }
    expect(writer.written.size).toBeGreaterThan(200);
  });
});
