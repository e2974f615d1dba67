import { connect, StorageType } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { esUrl, natsUrl } from "../support/infrastructure.js";
import { type RunningService, startService } from "../support/service-process.js";
import { TcpGate } from "../support/tcp-gate.js";
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

/** Short windows and back-off, so a test sees several retries and then the windows quickly. */
const SETTINGS = {
  window_ms: 1_000,
  margin_ms: 200,
  allowed_lateness_ms: 1_000,
  refresh_margin_ms: 500,
  poll_interval_ms: 200,
  repair_interval_ms: 1_000,
  max_backoff_ms: 1_000,
};

/** Spans of a few seconds, 20 s ago, so every agent is caught up once they are read. */
function historicalSpans(agents: number): { agent: number; wallNs: bigint }[] {
  const base = (BigInt(Date.now()) / 1_000n - 20n) * 1_000n * MS;
  return Array.from({ length: 120 }, (_, i) => ({
    agent: i % agents,
    wallNs: base + BigInt(i) * 29_999_999n,
  }));
}

async function healthzStatus(poller: RunningService): Promise<number> {
  return (await fetch(`http://${poller.http}/healthz`)).status;
}

/** Waits until GetStatus.last_error matches, then checks the service reports not ready. */
async function reportsNotReady(poller: RunningService, error: RegExp): Promise<void> {
  const client = pollerClient(poller.grpc);
  let last = "";
  await eventually(`last_error matching ${error}`, async () => {
    last = (await client.getStatus({})).lastError;
    return error.test(last) ? [] : [`last_error is "${last}"`];
  });
  expect(await healthzStatus(poller)).toBe(503);
}

/** Every written span arrives in a window, and the service is healthy with no error. */
async function publishesEverything(
  poller: RunningService,
  collector: WindowCollector,
  writer: SpanWriter,
): Promise<void> {
  await poller.ready();
  await collector.start();
  await eventually("windows of every span", () =>
    windowProblems(collector.received, writer.written),
  );
  expect((await pollerClient(poller.grpc).getStatus({})).lastError).toBe("");
}

describe("span-poller start-up while its dependencies are not usable", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let poller: RunningService | undefined;

  /** A scenario with its agent indices and spans written, cleaned up after the test. */
  async function prepare(label: string, createIndices = true) {
    const s: Scenario = scenario(label, 2);
    const writer = new SpanWriter(s);
    const collector = new WindowCollector(s);
    cleanups.push(() => writer.cleanup());
    if (createIndices) {
      await writer.createIndices();
      await writer.write(historicalSpans(2), true);
    }
    return { s, writer, collector };
  }

  /** A gate in front of the server at `url`, closed (connections refused) until opened. */
  async function closedGate(url: string): Promise<TcpGate> {
    const target = new URL(url);
    const gate = new TcpGate(target.hostname, Number(target.port));
    await gate.open();
    await gate.close();
    cleanups.push(() => gate.close());
    return gate;
  }

  afterEach(async () => {
    const code = await poller?.stop();
    poller = undefined;
    // The poller keeps running (and stops cleanly) through all of it.
    expect(code).toBe(0);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("waits for a NATS server it cannot reach, then publishes", async () => {
    const { s, writer, collector } = await prepare("nup");
    const gate = await closedGate(natsUrl());
    cleanups.push(() => collector.stop());
    poller = await startService("span-poller", {
      config: writeConfig(s, SETTINGS),
      env: { DEEPTRACE__NATS__URL: `nats://127.0.0.1:${gate.port}` },
    });
    await reportsNotReady(poller, /connecting to NATS failed/);
    await gate.open();
    await publishesEverything(poller, collector, writer);
  });

  it("retries a windows stream it cannot update, and proceeds once the conflict is gone", async () => {
    const { s, writer, collector } = await prepare("sconf");
    // A stream of the same name in memory storage: JetStream refuses to change the storage
    // type, so the poller's create-or-update fails until the stream is removed.
    const nc = await connect({ servers: natsUrl() });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({
      name: s.stream,
      subjects: [s.subject],
      storage: StorageType.Memory,
      max_bytes: 1024 * 1024,
    });
    cleanups.push(
      () => nc.close(),
      () => jsm.streams.delete(s.stream).catch(() => undefined),
      () => collector.stop(),
    );
    poller = await startService("span-poller", { config: writeConfig(s, SETTINGS) });
    await reportsNotReady(poller, new RegExp(`JetStream stream "${s.stream}" failed: .*storage`));
    await jsm.streams.delete(s.stream);
    await publishesEverything(poller, collector, writer);
  });

  it("stays up and reports a stream JetStream has no storage for", async () => {
    const { s } = await prepare("nostor");
    const tooLarge = 1024 ** 4; // 1 TiB: more than the test server's JetStream file store
    poller = await startService("span-poller", {
      config: writeConfig(s, SETTINGS),
      env: { DEEPTRACE__NATS__STREAM_MAX_BYTES: String(tooLarge) },
    });
    await reportsNotReady(poller, /insufficient storage/);
    const output = () => poller?.output.filter((l) => l.includes("insufficient storage")) ?? [];
    // It keeps trying with back-off instead of exiting.
    await eventually("a retry", () => (output().length >= 2 ? [] : ["one attempt so far"]));
    expect(poller.process.exitCode).toBe(null);
  });

  it("waits for Elasticsearch and for agent indices that do not exist yet", async () => {
    const { s, writer, collector } = await prepare("esup", false);
    const gate = await closedGate(esUrl());
    cleanups.push(() => collector.stop());
    poller = await startService("span-poller", {
      config: writeConfig(s, SETTINGS),
      env: { DEEPTRACE__ELASTIC__URL: `http://127.0.0.1:${gate.port}` },
    });
    await reportsNotReady(poller, /.+/);
    await gate.open();
    // Elasticsearch answers; an agent without an index has written nothing yet, which is
    // not an error: the poller is ready and reads the index once it appears.
    await poller.ready();
    await writer.createIndices();
    await writer.write(historicalSpans(2), true);
    await publishesEverything(poller, collector, writer);
    const address = poller.grpc;
    // A search right after an index is created can meet its shards not yet started (a
    // transient error the poller retries): every agent ends without an error.
    await eventually("no agent error", async () =>
      (await pollerClient(address).getStatus({})).agents
        .map((a) => a.lastError)
        .filter((e) => e !== ""),
    );
  });
});
