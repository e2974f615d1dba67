import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamManager } from "nats";
import { describe, expect, it } from "vitest";
import {
  cutWindows,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import { esUrl } from "../support/infrastructure.js";
import type { RunningService } from "../support/service-process.js";
import { TcpGate } from "../support/tcp-gate.js";
import {
  allDocuments,
  assemblerTestFile,
  documentCount,
  expectedTraces,
  publishWindows,
  startAssembler,
  waitFor,
  waitForLog,
  writeConfig,
} from "./support/harness.js";

const file = assemblerTestFile("outage", {
  start: () => gate.open(),
  stop: async () => {
    await service?.stop();
    await gate.close();
  },
});
const { es, setup } = file;
let service: RunningService | undefined;
const target = new URL(esUrl());
const gate = new TcpGate(target.hostname, Number(target.port));

/** Windows still on the windows subject: a work-queue stream removes a window when it is acked. */
async function windowsInStream(jsm: JetStreamManager): Promise<number> {
  const info = await jsm.streams.info(setup.stream, { subjects_filter: setup.subject });
  return info.state.subjects?.[setup.subject] ?? 0;
}

/**
 * The shared test Elasticsearch is not stopped (other test files use it at the same time):
 * the assembler reaches it through a TCP gate that is closed for 30 s, so from the
 * assembler's side Elasticsearch is down (connections refused, open ones cut).
 */
describe("Elasticsearch unavailable for 30 s during a run", () => {
  it("acks nothing while it is down, writes everything once it is back, duplicates nothing", async () => {
    const { spans } = workloadSpans({ requests: 200, rate: 250, seed: "outage" });
    const windows = cutWindows(spans, 150_000_000n, 150_000_000n, "outage");
    const half = Math.floor(windows.length / 2);
    const expectedAll = expectedTraces(windows);
    const expected = [...expectedAll.keys()].sort();
    const expectedSpans = [...expectedAll.values()].reduce((n, t) => n + t.spans.length, 0);
    const expectedFirst = expectedTraces(windows.slice(0, half)).size;
    const pendingWindows = windows.length - half;
    expect(pendingWindows).toBeGreaterThan(2);
    service = await startAssembler(
      writeConfig(setup, {
        elasticUrl: `http://127.0.0.1:${gate.port}`,
        ackWaitMs: 5_000,
        assembler: ["concurrency = 2", "retry_max_ms = 2000", "retry_deadline_ms = 120000"],
      }),
    );
    await waitForLog(service, '"consuming windows"');
    const jsm = await file.nc.jetstreamManager();

    await publishWindows(file.nc, setup, windows.slice(0, half));
    await waitFor(async () => {
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, "the first half acknowledged");
    expect(await documentCount(es, `${setup.prefix}-traces`)).toBe(expectedFirst);

    await gate.close();
    const before = await jsm.consumers.info(setup.stream, setup.consumer);
    await publishWindows(file.nc, setup, windows.slice(half));
    const retriedFrom = service.output.length;
    await waitForLog(service, '"Elasticsearch write retried"', 60_000, retriedFrom);
    // Down for 30 s: sample the consumer and the stream; no window may be acknowledged
    // (the ack floor stays, every window delivered is still pending, every window is still
    // in the work-queue stream) and none may be redelivered.
    for (let i = 0; i < 6; i++) {
      await sleep(5_000);
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      expect(info.ack_floor.stream_seq).toBe(before.ack_floor.stream_seq);
      expect(info.ack_floor.consumer_seq).toBe(before.ack_floor.consumer_seq);
      expect(info.num_ack_pending).toBe(info.delivered.consumer_seq - info.ack_floor.consumer_seq);
      expect(info.num_ack_pending).toBeGreaterThan(0);
      expect(info.num_ack_pending).toBeLessThanOrEqual(2);
      expect(info.num_pending + info.num_ack_pending).toBe(pendingWindows);
      expect(info.num_redelivered).toBe(0);
      expect(await windowsInStream(jsm)).toBe(pendingWindows);
    }
    expect(await documentCount(es, `${setup.prefix}-traces`)).toBe(expectedFirst);

    await gate.open();
    await waitFor(async () => {
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, "every window acknowledged after Elasticsearch returned");
    const after = await jsm.consumers.info(setup.stream, setup.consumer);
    expect(after.num_redelivered).toBe(0);
    // Each window delivered exactly once over the whole run.
    expect(after.delivered.consumer_seq).toBe(windows.length);
    expect(await windowsInStream(jsm)).toBe(0);

    const traces = await allDocuments(es, `${setup.prefix}-traces`, "trace_id");
    expect(traces.map((d) => d.id)).toEqual(expected);
    expect(await documentCount(es, `${setup.prefix}-traces`)).toBe(expected.length);
    const spanIds = (await allDocuments(es, `${setup.prefix}-spans`, "span_id")).map((d) => d.id);
    expect(new Set(spanIds).size).toBe(spanIds.length);
    expect(spanIds.length).toBe(expectedSpans);

    expect(await documentCount(es, `${setup.prefix}-dead-letters`)).toBe(0);
    const dead = await jsm.streams.info(setup.stream, { subjects_filter: setup.deadLetterSubject });
    expect(dead.state.subjects?.[setup.deadLetterSubject] ?? 0).toBe(0);
    expect(service.output.some((l) => l.includes('"deliveries":2'))).toBe(false);
  });
});
