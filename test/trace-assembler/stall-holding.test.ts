import { setTimeout as sleep } from "node:timers/promises";
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
  expectedTraces,
  publishWindows,
  startAssembler,
  waitFor,
  waitForLog,
  writeConfig,
} from "./support/harness.js";

const file = assemblerTestFile("stall", {
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

/**
 * A stall of many heartbeat intervals (Elasticsearch unreachable for 15 s, five times
 * ack_wait) with a backlog waiting: when it ends, the instance must not take more windows
 * than it can hold with in-progress acks. Windows it took but left waiting without them
 * would pass ack_wait and be delivered a second time.
 */
describe("a backlog behind an Elasticsearch stall", () => {
  it("is delivered once per window after the stall: nothing the instance took waits without in-progress acks", async () => {
    const { spans } = workloadSpans({ requests: 200, rate: 250, seed: "stall" });
    const windows = cutWindows(spans, 100_000_000n, 100_000_000n, "stall");
    expect(windows.length).toBeGreaterThan(8);
    const expected = [...expectedTraces(windows).keys()].sort();
    service = await startAssembler(
      writeConfig(setup, {
        elasticUrl: `http://127.0.0.1:${gate.port}`,
        ackWaitMs: 3_000,
        assembler: [
          "concurrency = 1",
          "fetch_expires_ms = 2000",
          "retry_max_ms = 500",
          "retry_deadline_ms = 120000",
        ],
      }),
    );
    await waitForLog(service, '"consuming windows"');
    const [first, ...rest] = windows;
    if (!first) throw new Error("no window");
    await publishWindows(file.nc, setup, [first]);
    await waitForLog(service, '"window written"');

    await gate.close();
    const from = service.output.length;
    await publishWindows(file.nc, setup, rest);
    await waitForLog(service, '"Elasticsearch write retried"', 60_000, from);
    await sleep(15_000);
    const jsm = await file.nc.jetstreamManager();
    const during = await jsm.consumers.info(setup.stream, setup.consumer);
    expect(during.num_ack_pending).toBe(1);
    expect(during.num_redelivered).toBe(0);
    await gate.open();

    await waitFor(async () => {
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, "every window acknowledged after the stall");
    // One delivery per window (num_redelivered only counts redeliveries still pending).
    const after = await jsm.consumers.info(setup.stream, setup.consumer);
    expect(after.delivered.consumer_seq).toBe(windows.length);
    const written = service.output
      .filter((line) => line.includes('"window written"'))
      .map((line) => (JSON.parse(line) as { windowId: string }).windowId);
    expect(written.sort()).toEqual(windows.map((w) => w.windowId).sort());
    const traces = await allDocuments(es, `${setup.prefix}-traces`, "trace_id");
    expect(traces.map((d) => d.id)).toEqual(expected);
  });
});
