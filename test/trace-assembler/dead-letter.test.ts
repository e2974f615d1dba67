import { Buffer } from "node:buffer";
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

const file = assemblerTestFile("poison", { stop: () => service?.stop() });
const { es, setup } = file;
let service: RunningService | undefined;

describe("a poison message", () => {
  it("lands in the dead-letter subject and index after the redelivery limit; the consumer keeps going", async () => {
    const { spans } = workloadSpans({ requests: 60, rate: 200, seed: "poison" });
    const windows = cutWindows(spans, 200_000_000n, 100_000_000n, "poison");
    const expected = [...expectedTraces(windows).keys()].sort();
    service = await startAssembler(writeConfig(setup, { maxDeliver: 3 }));
    await waitForLog(service, '"consuming windows"');

    const js = file.nc.jetstream();
    const poison = Buffer.from("this is not a SpanWindow \u00ff\u00fe");
    const ack = await js.publish(setup.subject, poison, { msgID: "poison-1" });
    await publishWindows(file.nc, setup, windows);

    const jsm = await file.nc.jetstreamManager();
    const letter = await waitFor(
      () => jsm.streams.getMessage(setup.stream, { last_by_subj: setup.deadLetterSubject }),
      "a message on the dead-letter subject",
    );
    expect(Buffer.from(letter.data)).toEqual(poison);
    expect(letter.header.get("Deeptrace-Dead-Letter-Reason")).toMatch(
      /InvalidWindowError: not a SpanWindow/,
    );
    expect(letter.header.get("Deeptrace-Deliveries")).toBe("3");
    expect(letter.header.get("Deeptrace-Original-Sequence")).toBe(String(ack.seq));

    const records = await waitFor(async () => {
      const docs = await allDocuments(es, `${setup.prefix}-dead-letters`, "recorded_at");
      return docs.length > 0 ? docs : undefined;
    }, "a record in the dead-letter index");
    expect(records).toHaveLength(1);
    expect(records[0]?.source).toMatchObject({
      kind: "window_message",
      subject: setup.subject,
      stream_sequence: ack.seq,
      delivery_count: 3,
      payload: poison.toString("base64"),
      payload_truncated: false,
    });
    expect(String(records[0]?.source.reason)).toMatch(/not a SpanWindow/);

    await waitFor(async () => {
      const info = await jsm.consumers.info(setup.stream, setup.consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, "every window settled");
    const traces = await allDocuments(es, `${setup.prefix}-traces`, "trace_id");
    expect(traces.map((d) => d.id)).toEqual(expected);
    // Terminated, so the poison message is gone from the windows subject.
    const stream = await jsm.streams.info(setup.stream, { subjects_filter: setup.subject });
    expect(stream.state.subjects?.[setup.subject] ?? 0).toBe(0);
  });
});
