import { toBinary } from "@bufbuild/protobuf";
import { SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { describe, expect, it } from "vitest";
import {
  cutWindows,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import type { RunningService } from "../support/service-process.js";
import {
  allDocuments,
  assemblerTestFile,
  startAssembler,
  waitFor,
  waitForLog,
  writeConfig,
} from "./support/harness.js";

const file = assemblerTestFile("maxsweep", {
  stop: () => Promise.all(services.map((s) => s.stop())),
});
const { es, setup } = file;
const services: RunningService[] = [];

/**
 * JetStream gives up on a window lazily, on the consumer's next pull, and announces it once
 * with a plain NATS advisory. Here that happens while no assembler runs, so nobody
 * hears the advisory: the next assembler to start must still dead-letter the window.
 */
describe("a window that ran out of deliveries while no assembler was listening", () => {
  it("is dead-lettered by the next assembler's start-up sweep and removed from the stream", async () => {
    const { spans } = workloadSpans({ requests: 40, rate: 200, seed: "maxsweep" });
    const [window] = cutWindows(spans, 150_000_000n, 100_000_000n, "maxsweep");
    if (!window) throw new Error("the workload must give a window");
    const config = writeConfig(setup, { maxDeliver: 2, ackWaitMs: 1_000 });

    // The service creates the stream and the shared consumer; then no instance runs.
    const creator = await startAssembler(config);
    services.push(creator);
    await waitForLog(creator, '"consuming windows"');
    await creator.stop();

    const js = file.nc.jetstream();
    const jsm = await file.nc.jetstreamManager();
    const data = toBinary(SpanWindowSchema, window);
    const published = await js.publish(setup.subject, data, { msgID: `${window.windowId}:0` });
    // Two deliveries, never settled (the holders "crashed").
    const consumer = await js.consumers.get(setup.stream, setup.consumer);
    expect((await consumer.next({ expires: 5_000 }))?.info.redeliveryCount).toBe(1);
    expect((await consumer.next({ expires: 5_000 }))?.info.redeliveryCount).toBe(2);
    // After ack_wait the server gives up on it at the consumer's next pull (here another
    // client's): the advisory goes out with no assembler subscribed.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await consumer.next({ expires: 2_000 })).toBeNull();
    await waitFor(async () => {
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      return info.num_ack_pending === 0 && info.delivered.stream_seq >= published.seq;
    }, "the consumer giving up on the window");
    const before = await jsm.streams.getMessage(setup.stream, { seq: published.seq });
    expect(before.subject).toBe(setup.subject);

    const assembler = await startAssembler(config);
    services.push(assembler);
    await waitForLog(assembler, '"consuming windows"');
    const letter = await waitFor(
      () => jsm.streams.getMessage(setup.stream, { last_by_subj: setup.deadLetterSubject }),
      "a message on the dead-letter subject",
    );
    expect(Buffer.from(letter.data)).toEqual(Buffer.from(data));
    expect(letter.header.get("Deeptrace-Dead-Letter-Reason")).toBe("max deliveries reached");
    expect(letter.header.get("Deeptrace-Original-Sequence")).toBe(String(published.seq));
    expect(letter.header.get("Deeptrace-Window-Id")).toBe(window.windowId);
    expect(letter.header.get("Deeptrace-Deliveries")).toBe("2");
    const records = await waitFor(async () => {
      const docs = await allDocuments(es, `${setup.prefix}-dead-letters`, "recorded_at");
      return docs.length > 0 ? docs : undefined;
    }, "a record in the dead-letter index");
    expect(records).toHaveLength(1);
    expect(records[0]?.source).toMatchObject({
      reason: "max deliveries reached",
      window_id: window.windowId,
      stream_sequence: published.seq,
    });
    await waitFor(async () => {
      const stream = await jsm.streams.info(setup.stream, { subjects_filter: setup.subject });
      return (stream.state.subjects?.[setup.subject] ?? 0) === 0;
    }, "the window removed from the stream");
    expect(assembler.output.some((l) => l.includes('"max-deliveries sweep"'))).toBe(true);
  });
});
