import { toBinary } from "@bufbuild/protobuf";
import { SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { JsMsg } from "nats";
import { describe, expect, it } from "vitest";
import {
  cutWindows,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import type { RunningService } from "../support/service-process.js";
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

const file = assemblerTestFile("maxdeliver", {
  stop: () => Promise.all(services.map((s) => s.stop())),
});
const { es, setup } = file;
const services: RunningService[] = [];

/**
 * Instances that crash while holding a window on its last allowed delivery never settle it,
 * and JetStream does not deliver it again: the max-deliveries advisory is all that is left.
 * The test plays the crashing instances with its own pulls of the shared consumer.
 */
describe("a window whose last delivery is never settled", () => {
  it("is dead-lettered from the max-deliveries advisory and deleted from the stream; the consumer keeps going", async () => {
    const { spans } = workloadSpans({ requests: 60, rate: 200, seed: "maxdeliver" });
    const [stuck, next] = cutWindows(spans, 150_000_000n, 100_000_000n, "maxdeliver");
    if (!stuck || !next) throw new Error("the workload must give two windows");
    const config = writeConfig(setup, { maxDeliver: 2, ackWaitMs: 2_000 });

    // The service creates the stream and the shared consumer; then no instance runs.
    const creator = await startAssembler(config);
    services.push(creator);
    await waitForLog(creator, '"consuming windows"');
    await creator.stop();

    const js = file.nc.jetstream();
    const data = toBinary(SpanWindowSchema, stuck);
    const published = await js.publish(setup.subject, data, { msgID: `${stuck.windowId}:0` });
    const consumer = await js.consumers.get(setup.stream, setup.consumer);
    const first = await consumer.next({ expires: 10_000 });
    expect(first?.info.redeliveryCount).toBe(1);
    // Crashed with it: not settled, redelivered after ack_wait, for the last time.
    const last = (await consumer.next({ expires: 10_000 })) as JsMsg | null;
    expect(last?.info.streamSequence).toBe(published.seq);
    expect(last?.info.redeliveryCount).toBe(2);

    // Held (in progress) until an assembler listens, then its holder "crashes".
    const holding = setInterval(() => last?.working(), 300);
    let assembler: RunningService;
    try {
      assembler = await startAssembler(config);
      services.push(assembler);
      await waitForLog(assembler, '"consuming windows"');
    } finally {
      clearInterval(holding);
    }

    const jsm = await file.nc.jetstreamManager();
    const letter = await waitFor(
      () => jsm.streams.getMessage(setup.stream, { last_by_subj: setup.deadLetterSubject }),
      "a message on the dead-letter subject",
    );
    expect(Buffer.from(letter.data)).toEqual(Buffer.from(data));
    expect(letter.header.get("Deeptrace-Dead-Letter-Reason")).toBe("max deliveries reached");
    expect(letter.header.get("Deeptrace-Window-Id")).toBe(stuck.windowId);
    expect(letter.header.get("Deeptrace-Original-Sequence")).toBe(String(published.seq));
    expect(letter.header.get("Deeptrace-Deliveries")).toBe("2");

    const records = await waitFor(async () => {
      const docs = await allDocuments(es, `${setup.prefix}-dead-letters`, "recorded_at");
      return docs.length > 0 ? docs : undefined;
    }, "a record in the dead-letter index");
    expect(records).toHaveLength(1);
    expect(records[0]?.source).toMatchObject({
      kind: "window_message",
      reason: "max deliveries reached",
      window_id: stuck.windowId,
      subject: setup.subject,
      stream_sequence: published.seq,
      delivery_count: 2,
      payload_bytes: data.length,
    });

    // Deleted from the stream, and the next window is processed as usual.
    await publishWindows(file.nc, setup, [next]);
    await waitFor(async () => {
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, "every window settled");
    await expect(jsm.streams.getMessage(setup.stream, { seq: published.seq })).rejects.toThrow(
      /no message found/,
    );
    const stream = await jsm.streams.info(setup.stream, { subjects_filter: setup.subject });
    expect(stream.state.subjects?.[setup.subject] ?? 0).toBe(0);
    const traces = await allDocuments(es, `${setup.prefix}-traces`, "trace_id");
    expect(traces.map((d) => d.id)).toEqual([...expectedTraces([next]).keys()].sort());
    expect(assembler.output.some((l) => l.includes('"window dead-lettered"'))).toBe(true);
  });
});
