import type { SpanWindow } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cutWindows,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import { esUrl } from "../support/infrastructure.js";
import type { RunningService } from "../support/service-process.js";
import { TcpGate } from "../support/tcp-gate.js";
import {
  allDocuments,
  cleanUp,
  elasticClient,
  expectedTraces,
  natsConnection,
  publishWindows,
  startAssembler,
  type TestSetup,
  testSetup,
  waitFor,
  waitForLog,
  writeConfig,
} from "./support/harness.js";

const es = elasticClient();
let nc: NatsConnection;
let windows: SpanWindow[];
let expected: string[];
const setups: TestSetup[] = [];
const services: RunningService[] = [];
const target = new URL(esUrl());
const gate = new TcpGate(target.hostname, Number(target.port));

/** Window ids an instance logged as written (each line is one stored window). */
function written(service: RunningService): string[] {
  return service.output
    .filter((line) => line.includes('"window written"'))
    .map((line) => (JSON.parse(line) as { windowId: string }).windowId);
}

/**
 * SIGTERM in the middle of a window, then a second instance on the same stream: the first
 * stops taking windows, settles the one in hand (written and acked, or handed back with a nak
 * when Elasticsearch does not let it finish within the grace period), exits 0, and every
 * window ends up written and acked exactly once over both instances.
 */
async function sigtermDuringWindow(name: string, elasticDown: boolean) {
  const setup = testSetup(name);
  setups.push(setup);
  const config = writeConfig(setup, {
    elasticUrl: `http://127.0.0.1:${gate.port}`,
    ackWaitMs: 30_000,
    assembler: ["concurrency = 1", "retry_max_ms = 500"],
  });
  // Time enough to finish the window in hand, unless Elasticsearch is down: then it is
  // handed back when the grace period ends.
  const first = await startAssembler(config, {
    DEEPTRACE__TRACE_ASSEMBLER__SHUTDOWN_GRACE_MS: elasticDown ? "3000" : "60000",
  });
  services.push(first);
  await waitForLog(first, '"consuming windows"');
  await publishWindows(nc, setup, windows);
  await waitForLog(first, '"window written"');
  const from = first.output.length;
  await waitForLog(first, '"window assembled"', 60_000, from);
  if (elasticDown) {
    await gate.close();
    await waitForLog(first, '"Elasticsearch write retried"', 60_000, from);
  }
  const signalled = first.output.length;
  const exitCode = await first.stop();
  expect(exitCode).toBe(0);
  const after = first.output.slice(signalled);
  // The process handles the signal a moment after it was sent (a window taken before that
  // is a window in hand); from the moment it does, it takes none, while its gRPC server
  // drains too (an arrival is handed back at once).
  const shutdownAt = after.findIndex((l) => l.includes('"shutting down"'));
  expect(shutdownAt).toBeGreaterThanOrEqual(0);
  expect(after.slice(shutdownAt).some((l) => l.includes('"no longer taking windows"'))).toBe(true);
  expect(after.slice(shutdownAt).some((l) => l.includes('"window received"'))).toBe(false);
  expect(after.some((l) => l.includes('"shutting down: window handed back"'))).toBe(elasticDown);
  if (elasticDown) await gate.open();

  // Nothing was left to ack_wait: the window in hand was acked, or handed back (a nacked
  // window counts as pending until it is delivered again).
  const jsm = await nc.jetstreamManager();
  const atExit = await jsm.consumers.info(setup.stream, setup.consumer);
  expect(atExit.num_ack_pending).toBe(elasticDown ? 1 : 0);
  const byFirst = written(first);
  expect(byFirst.length).toBeLessThan(windows.length);

  const second = await startAssembler(config);
  services.push(second);
  if (elasticDown) {
    // Handed back, so delivered again at once, well before ack_wait (30 s) could have.
    await waitForLog(second, '"deliveries":2', 15_000);
  }
  await waitFor(async () => {
    const info = await jsm.consumers.info(setup.stream, setup.consumer);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, "every window acknowledged");
  const bySecond = written(second);
  expect([...byFirst, ...bySecond].sort()).toEqual(windows.map((w) => w.windowId).sort());
  const traces = await allDocuments(es, `${setup.prefix}-traces`, "trace_id");
  expect(traces.map((d) => d.id)).toEqual(expected);
  await second.stop();
  // Deliveries beyond one per window (num_redelivered only counts those still pending).
  const { delivered } = await jsm.consumers.info(setup.stream, setup.consumer);
  return { byFirst, bySecond, redelivered: delivered.consumer_seq - windows.length };
}

describe("SIGTERM while a window is being processed", () => {
  beforeAll(async () => {
    nc = await natsConnection();
    await gate.open();
    const { spans } = workloadSpans({ requests: 200, rate: 250, seed: "sigterm" });
    windows = cutWindows(spans, 150_000_000n, 150_000_000n, "sigterm");
    expected = [...expectedTraces(windows).keys()].sort();
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await gate.close();
    for (const setup of setups) await cleanUp(setup, es, nc);
    await nc?.close();
    await es.close();
  });

  it("finishes the window in hand, exits 0, and the rest is processed once by the next instance", async () => {
    const { redelivered } = await sigtermDuringWindow("sigterm-finish", false);
    expect(redelivered).toBe(0);
  });

  it("hands the window back when Elasticsearch keeps it past the grace period; it is written once, by the next instance", async () => {
    const { byFirst, bySecond, redelivered } = await sigtermDuringWindow("sigterm-nak", true);
    // The window in hand was handed back, not written by the first instance.
    expect(redelivered).toBe(1);
    expect(new Set([...byFirst, ...bySecond]).size).toBe(byFirst.length + bySecond.length);
  });
});
