import { describe, expect, it } from "vitest";
import {
  cutWindows,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import type { RunningService } from "../support/service-process.js";
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

const file = assemblerTestFile("crash", { stop: () => Promise.all(services.map((s) => s.stop())) });
const { es, setup } = file;
const services: RunningService[] = [];

describe("an assembler killed with SIGKILL in the middle of a window", () => {
  it("has the window redelivered to another instance; the index ends with exactly the expected traces", async () => {
    const { spans } = workloadSpans({ requests: 300, rate: 250, seed: "crash" });
    const windows = cutWindows(spans, 150_000_000n, 150_000_000n, "crash");
    const expected = [...expectedTraces(windows).keys()].sort();
    const config = writeConfig(setup, { ackWaitMs: 3_000, assembler: ["concurrency = 1"] });

    const victim = await startAssembler(config);
    services.push(victim);
    await waitForLog(victim, '"consuming windows"');
    await publishWindows(file.nc, setup, windows);
    // Let it finish one window, then kill it while it is writing the next one.
    await waitForLog(victim, '"window written"');
    const written = victim.output.length;
    await waitForLog(victim, '"window assembled"', 60_000, written);
    victim.process.kill("SIGKILL");
    await new Promise((resolve) => victim.process.once("exit", resolve));

    const jsm = await file.nc.jetstreamManager();
    const atKill = await jsm.consumers.info(setup.stream, setup.consumer);
    expect(atKill.num_ack_pending).toBe(1);
    const partial = await documentCount(es, `${setup.prefix}-traces`);
    expect(partial).toBeLessThan(expected.length);

    const survivor = await startAssembler(config);
    services.push(survivor);
    await waitFor(async () => {
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, "every window acknowledged");
    expect(
      survivor.output.some((l) => l.includes('"window received"') && l.includes('"deliveries":2')),
    ).toBe(true);

    const traces = await allDocuments(es, `${setup.prefix}-traces`, "trace_id");
    expect(traces.map((d) => d.id)).toEqual(expected);
    expect(await documentCount(es, `${setup.prefix}-traces`)).toBe(expected.length);
    const spanIds = (await allDocuments(es, `${setup.prefix}-spans`, "span_id")).map((d) => d.id);
    expect(new Set(spanIds).size).toBe(spanIds.length);
  });
});
