import { create, toBinary } from "@bufbuild/protobuf";
import {
  type Span,
  type SpanWindow,
  SpanWindowSchema,
} from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { describe, expect, it } from "vitest";
import { bufferedSpan, SpanBuffer } from "../../services/span-poller/src/span-buffer.js";
import { messageIdFor, windowIdFor } from "../../services/span-poller/src/window-message.js";
import { splitWindow, type WindowBounds } from "../../services/span-poller/src/window-pieces.js";
import {
  cutWindows,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import { windowGraph } from "../../services/trace-assembler/src/documents/graph-documents.js";
import type { RunningService } from "../support/service-process.js";
import {
  allDocuments,
  assemblerTestFile,
  expectedTraces,
  startAssembler,
  waitFor,
  waitForLog,
  writeConfig,
} from "../trace-assembler/support/harness.js";

/**
 * The span-poller's way of cutting a window that outgrew a message, checked against the
 * real trace-assembler: the pieces are windows of their own at the window's next revision,
 * and the window id itself is retracted with an empty message at that revision. Whatever
 * the order, the stored traces, spans and service graph must be exactly those of the whole
 * window: nothing duplicated, nothing lost, nothing left of the earlier revision.
 */
const file = assemblerTestFile("cutwin", { stop: () => service?.stop() });
const { es, setup } = file;
let service: RunningService | undefined;

function windowOf(b: WindowBounds, revision: number, spans: readonly Span[]): SpanWindow {
  return create(SpanWindowSchema, {
    windowId: windowIdFor(b.startNs, b.endNs),
    startNs: b.startNs,
    endNs: b.endNs,
    marginNs: b.marginNs,
    revision,
    spans: spans.filter(
      (s) => s.startTimeNs >= b.startNs - b.marginNs && s.startTimeNs < b.endNs + b.marginNs,
    ),
    agents: [...new Set(spans.map((s) => s.agent))].sort(),
  });
}

/** Call counts of the service graph by node and edge. */
function graphCounts(docs: Array<{ source: Record<string, unknown> }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { source: d } of docs) {
    const key =
      d.kind === "node" ? `node ${d.service}` : `edge ${d.source}>${d.target} ${d.protocol}`;
    counts[key] = (counts[key] ?? 0) + Number(d.call_count);
  }
  return counts;
}

async function stored() {
  const [traces, spans, graph] = await Promise.all([
    allDocuments(es, `${setup.prefix}-traces`, "trace_id"),
    allDocuments(es, `${setup.prefix}-spans`, "span_id"),
    allDocuments(es, `${setup.prefix}-service-graph`, "window_id"),
  ]);
  return {
    traceIds: traces.map((d) => d.id),
    spanIds: spans.map((d) => d.id).sort(),
    graph: graphCounts(graph),
    revisions: [...new Set([...traces, ...spans, ...graph].map((d) => d.source.window_revision))],
  };
}

describe("a window cut into pieces, assembled by the trace-assembler", () => {
  it("replaces the earlier revision exactly, and is replaced exactly by a whole one", async () => {
    const { spans } = workloadSpans({ requests: 60, rate: 50, seed: "cut-window" });
    const [cut] = cutWindows(spans, 1_000_000_000n, 100_000_000n, "cut");
    if (!cut) throw new Error("the workload gives no window");
    const whole: WindowBounds = { startNs: cut.startNs, endNs: cut.endNs, marginNs: cut.marginNs };
    const all = cut.spans;
    // Revision 0 was published before late spans arrived: some traces differ from later ones.
    const middle = whole.startNs + (whole.endNs - whole.startNs) / 2n;
    const rev0 = windowOf(
      whole,
      0,
      all.filter((s) => s.startTimeNs < middle),
    );
    // Revision 1 holds every span and no longer fits: cut into a few pieces.
    const sizes = new SpanBuffer();
    for (const span of all) sizes.add("", bufferedSpan(span, span.spanId));
    const budget = Math.ceil(toBinary(SpanWindowSchema, windowOf(whole, 1, all)).length / 2);
    const pieces = splitWindow(whole, sizes, budget, 256).map((p) => windowOf(p, 1, all));
    expect(pieces.length).toBeGreaterThan(2);
    const retraction1 = windowOf({ ...whole, marginNs: 0n }, 1, []);
    // Revision 2 fits again (e.g. a larger max_payload): whole, and the pieces are retracted.
    const rev2 = windowOf(whole, 2, all);
    const retractions2 = pieces.map((p) =>
      windowOf({ startNs: p.startNs, endNs: p.endNs, marginNs: 0n }, 2, []),
    );

    const expected = expectedTraces([rev2]);
    // The contract the cut relies on: the pieces emit exactly the whole window's traces.
    expect([...expectedTraces(pieces).keys()].sort()).toEqual([...expected.keys()].sort());
    const expectedTraceIds = [...expected.keys()].sort();
    const expectedSpanIds = [...expected.values()]
      .flatMap((t) => t.spans.map((s) => s.spanId))
      .sort();
    const expectedGraph = graphCounts(
      (() => {
        const g = windowGraph([...expected.values()]);
        return [
          ...[...g.nodes].map(([svc, acc]) => ({
            source: { kind: "node", service: svc, call_count: acc.count },
          })),
          ...[...g.edges.values()].map((e) => ({
            source: { ...e, kind: "edge", call_count: e.count },
          })),
        ];
      })(),
    );
    expect(Object.keys(expectedGraph).length).toBeGreaterThan(1);
    expect([...expectedTraces([rev0]).keys()].sort()).not.toEqual(expectedTraceIds);

    service = await startAssembler(writeConfig(setup, { assembler: ["concurrency = 2"] }));
    await waitForLog(service, '"consuming windows"');
    const js = file.nc.jetstream();
    const jsm = await file.nc.jetstreamManager();
    let published = 0;
    const publish = async (windows: SpanWindow[]) => {
      for (const w of windows) {
        await js.publish(setup.subject, toBinary(SpanWindowSchema, w), {
          msgID: messageIdFor(w.windowId, w.revision),
        });
        published++;
      }
      await waitFor(async () => {
        const info = await jsm.consumers.info(setup.stream, setup.consumer);
        return (
          info.num_pending === 0 &&
          info.num_ack_pending === 0 &&
          info.ack_floor.consumer_seq === published
        );
      }, `${published} window messages acknowledged`);
    };

    await publish([rev0]);
    expect((await stored()).traceIds).toEqual([...expectedTraces([rev0]).keys()].sort());

    // The retraction first, then the pieces in reverse: any order must end the same.
    await publish([retraction1, ...[...pieces].reverse()]);
    const afterCut = await stored();
    expect(afterCut.traceIds).toEqual(expectedTraceIds);
    expect(afterCut.spanIds).toEqual(expectedSpanIds);
    expect(afterCut.graph).toEqual(expectedGraph);
    expect(afterCut.revisions).toEqual([1]);

    // A late redelivery of revision 0 changes nothing.
    await js.publish(setup.subject, toBinary(SpanWindowSchema, rev0), { msgID: "late-rev0" });
    published++;
    await publish([]);
    expect(await stored()).toEqual(afterCut);

    await publish([rev2, ...retractions2]);
    const afterWhole = await stored();
    expect(afterWhole.traceIds).toEqual(expectedTraceIds);
    expect(afterWhole.spanIds).toEqual(expectedSpanIds);
    expect(afterWhole.graph).toEqual(expectedGraph);
    expect(afterWhole.revisions).toEqual([2]);
  });
});
