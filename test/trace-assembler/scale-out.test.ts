import type { SpanWindow } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cutWindows,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import type { RunningService } from "../support/service-process.js";
import {
  allDocuments,
  cleanUp,
  documentCount,
  elasticClient,
  expectedTraces,
  natsConnection,
  publishWindows,
  startAssembler,
  type TestSetup,
  testSetup,
  waitFor,
  writeConfig,
} from "./support/harness.js";

const es = elasticClient();
let nc: NatsConnection;
let windows: SpanWindow[];
let expected: string[];
const setups: TestSetup[] = [];
const services: RunningService[] = [];

/** Runs `instances` assemblers on their own stream and returns the stored trace documents. */
async function run(name: string, instances: number) {
  const setup = testSetup(name);
  setups.push(setup);
  const config = writeConfig(setup, { assembler: ["concurrency = 1"] });
  const started = await Promise.all(
    Array.from({ length: instances }, () => startAssembler(config)),
  );
  services.push(...started);
  await waitFor(
    async () => started.every((s) => s.output.some((l) => l.includes('"consuming windows"'))),
    "every instance consuming",
  );
  await publishWindows(nc, setup, windows);
  await waitFor(
    async () => (await documentCount(es, `${setup.prefix}-traces`)) === expected.length,
    `${expected.length} traces in ${setup.prefix}-traces`,
  );
  await waitFor(async () => {
    const info = await (await nc.jetstreamManager()).consumers.info(setup.stream, setup.consumer);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, "every window acknowledged");
  // A window's log line is written before its ack, but reaches this process through a pipe
  // that can lag behind the ack seen over NATS.
  const writtenBy = () =>
    started.map((s) => s.output.filter((l) => l.includes('"window written"')).length);
  await waitFor(
    async () => writtenBy().reduce((a, b) => a + b, 0) >= windows.length,
    "a log line for every window written",
  );
  const perInstance = writtenBy();
  const traces = await allDocuments(es, `${setup.prefix}-traces`, "trace_id");
  const spans = await allDocuments(es, `${setup.prefix}-spans`, "span_id");
  await Promise.all(started.map((s) => s.stop()));
  return { traces, spans, perInstance };
}

/** A stored trace without what legitimately differs between runs (the assembly time). */
function comparable(doc: { id: string; source: Record<string, unknown> }) {
  const { assembled_at: _assembledAt, ...rest } = doc.source;
  return { id: doc.id, ...rest };
}

describe("two assembler processes on one stream", () => {
  beforeAll(async () => {
    nc = await natsConnection();
    const { spans } = workloadSpans({ requests: 300, rate: 250, seed: "scale-out" });
    windows = cutWindows(spans, 150_000_000n, 150_000_000n, "scale");
    expected = [...expectedTraces(windows).keys()].sort();
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    for (const setup of setups) await cleanUp(setup, es, nc);
    await nc?.close();
    await es.close();
  });

  it("split the windows and store exactly the traces a single instance stores", async () => {
    expect(windows.length).toBeGreaterThanOrEqual(8);
    const single = await run("single", 1);
    const pair = await run("pair", 2);

    expect(single.perInstance).toEqual([windows.length]);
    expect(pair.perInstance.reduce((a, b) => a + b, 0)).toBe(windows.length);
    expect(pair.perInstance.every((n) => n > 0)).toBe(true);

    expect(single.traces.map((d) => d.id)).toEqual(expected);
    expect(pair.traces.map(comparable)).toEqual(single.traces.map(comparable));
    expect(pair.spans).toEqual(single.spans);
  });
});
