import { create } from "@bufbuild/protobuf";
import { type SpanWindow, SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
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

const file = assemblerTestFile("revisions", { stop: () => service?.stop() });
const { es, setup } = file;
let service: RunningService | undefined;

/** The same window with another revision and only the spans starting before `cutNs`. */
function revision(window: SpanWindow, revision: number, cutNs?: bigint): SpanWindow {
  return create(SpanWindowSchema, {
    ...window,
    revision,
    spans: cutNs === undefined ? window.spans : window.spans.filter((s) => s.startTimeNs < cutNs),
  });
}

/** What the indices hold for the window: ids and revisions of traces, spans and graph. */
async function stored() {
  const [traces, spans, graph, markers] = await Promise.all([
    allDocuments(es, `${setup.prefix}-traces`, "trace_id"),
    allDocuments(es, `${setup.prefix}-spans`, "span_id"),
    allDocuments(es, `${setup.prefix}-service-graph`, "window_id"),
    allDocuments(es, `${setup.prefix}-windows`, "window_id"),
  ]);
  const revisions = (docs: Array<{ source: Record<string, unknown> }>) =>
    [...new Set(docs.map((d) => d.source.window_revision))].sort();
  return {
    traceIds: traces.map((d) => d.id),
    spanCount: spans.length,
    revisions: {
      traces: revisions(traces),
      spans: revisions(spans),
      graph: revisions(graph),
      markers: markers.map((d) => [d.id, d.source.window_revision]),
    },
  };
}

describe("revisions of one window delivered out of order", () => {
  it("never let an older revision overwrite a newer one; a newer one removes what it no longer produces", async () => {
    const { spans } = workloadSpans({ requests: 120, rate: 200, seed: "revisions" });
    const [full] = cutWindows(spans, 400_000_000n, 100_000_000n, "rev");
    if (!full) throw new Error("the workload gives no window");
    const middle = full.startNs + (full.endNs - full.startNs) / 2n;
    const rev1 = revision(full, 1);
    const rev0 = revision(full, 0, middle + 50_000_000n);
    const rev2 = revision(full, 2, middle);
    const expected1 = expectedTraces([rev1]);
    const expected2 = expectedTraces([rev2]);
    const spanCount = (traces: typeof expected1) =>
      [...traces.values()].reduce((n, t) => n + t.spans.length, 0);
    // Revision 2 no longer produces some of revision 1's traces.
    expect([...expected1.keys()].filter((id) => !expected2.has(id)).length).toBeGreaterThan(0);

    service = await startAssembler(writeConfig(setup, { assembler: ["concurrency = 1"] }));
    await waitForLog(service, '"consuming windows"');
    const jsm = await file.nc.jetstreamManager();
    const settled = async (acked: number) =>
      waitFor(async () => {
        const info = await jsm.consumers.info(setup.stream, setup.consumer);
        return (
          info.num_pending === 0 &&
          info.num_ack_pending === 0 &&
          info.ack_floor.consumer_seq === acked
        );
      }, `${acked} window message(s) acknowledged`);

    await publishWindows(file.nc, setup, [rev1]);
    await settled(1);
    const afterRev1 = await stored();
    expect(afterRev1.traceIds).toEqual([...expected1.keys()].sort());
    expect(afterRev1.spanCount).toBe(spanCount(expected1));

    // The older revision arrives late: acknowledged, nothing written.
    await publishWindows(file.nc, setup, [rev0]);
    await settled(2);
    expect(
      service.output.some(
        (l) =>
          l.includes('"window skipped: a newer revision is stored"') && l.includes('"revision":0'),
      ),
    ).toBe(true);
    expect(await stored()).toEqual(afterRev1);
    expect(afterRev1.revisions).toEqual({
      traces: [1],
      spans: [1],
      graph: [1],
      markers: [[full.windowId, 1]],
    });

    // A newer revision replaces it, and what it no longer produces is gone.
    await publishWindows(file.nc, setup, [rev2]);
    await settled(3);
    const afterRev2 = await stored();
    expect(afterRev2.traceIds).toEqual([...expected2.keys()].sort());
    expect(afterRev2.spanCount).toBe(spanCount(expected2));
    expect(afterRev2.revisions).toEqual({
      traces: [2],
      spans: [2],
      graph: [2],
      markers: [[full.windowId, 2]],
    });
  });
});
