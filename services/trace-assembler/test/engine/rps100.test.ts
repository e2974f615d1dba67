import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";
import { spanTableFromSpans } from "@deeptrace/shared/spans/span-table";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/engine/assemble.js";
import { groundTruthFromObservedIds } from "../../src/scoring/ground-truth.js";
import { score } from "../../src/scoring/score.js";

// Real capture from the public DeepTrace agent (see shared/data/README.md beside the checkout).
const FILE = fileURLToPath(
  new URL("../../../../../shared/data/rps100-spans.json", import.meta.url),
);

describe("real capture rps100-spans.json", () => {
  const { spans } = (() => {
    const doc = JSON.parse(readFileSync(FILE, "utf8")) as { spans: unknown[] };
    return ingestDocuments(doc.spans, { format: "auto", index: "rps100-spans" });
  })();
  const truth = groundTruthFromObservedIds(spanTableFromSpans(spans));

  it("ingests all 1604 pairs, 1438 of them with an X-Request-Id", () => {
    expect(spans).toHaveLength(1604);
    expect(truth.requestOf.size).toBe(1438);
  });

  it("reaches end-to-end accuracy >= 0.98 with DeepTrace, and FIFO stays below it", () => {
    const deeptrace = score(assemble(spans, { algorithm: "deeptrace" }).traces, truth);
    const fifo = score(assemble(spans, { algorithm: "fifo" }).traces, truth);
    expect(deeptrace.e2e.requests).toBe(288);
    expect(deeptrace.e2e.accuracy).toBeGreaterThanOrEqual(0.98);
    expect(fifo.e2e.accuracy).toBeLessThan(deeptrace.e2e.accuracy);
    expect(deeptrace.cross.precision).toBeGreaterThanOrEqual(0.99);
  });

  it("with propagated ids masked, links without them and still catches every cross link", () => {
    // The only transaction field of this capture is the X-Request-Id the services
    // propagate; masked, the intra links rest on timing alone (reported in the benchmark).
    const masked = assemble(spans, { algorithm: "deeptrace", maskPropagatedIds: true });
    const report = score(masked.traces, truth);
    expect(report.e2e.requests).toBe(288);
    expect(report.cross.precision).toBeGreaterThanOrEqual(0.99);
    expect(masked.stats.links.observed).toBe(0);
  });

  it("catches the responses the agent paired with the wrong request", () => {
    const r = assemble(spans, { algorithm: "deeptrace" });
    // 11 caller spans on one connection carry the next request's response (the other 15
    // pairing errors are on the callee side and must not be blamed on the caller).
    expect(r.stats.suspectResponses).toBe(11);
  });
});
