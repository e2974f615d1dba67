import type { Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/engine/assemble.js";
import { score } from "../../src/scoring/score.js";
import { generatedSpans } from "./generated-spans.js";

/**
 * Generated chain workloads with hundreds of requests in flight. The chain's frontend and
 * inventory are Go services: their goroutines share a few OS threads, so the thread id of
 * a call matches several open parents, while the transaction fields (X-Request-Id, ids in
 * the query) match exactly one.
 */
function chain(concurrency: number, fields: boolean) {
  return generatedSpans({
    topology: "chain",
    concurrency,
    requests: 3 * concurrency,
    seed: 7,
    transactionFields: fields,
    requestIdHeader: fields,
  });
}

/** Share of HTTP Egress spans of `service` that got their true parent. */
function httpCallsRight(
  spans: readonly Span[],
  parentOf: ReadonlyMap<string, string>,
  linked: ReadonlyMap<string, string>,
  service: (s: Span) => boolean,
): { right: number; total: number } {
  let right = 0;
  let total = 0;
  for (const s of spans) {
    if (s.protocol !== "HTTP1" || s.direction !== 2 || !service(s)) continue;
    total++;
    if (linked.get(s.spanId) === parentOf.get(s.spanId)) right++;
  }
  return { right, total };
}

describe("intra links at high concurrency", () => {
  it("follows the transaction fields, not the shared thread, in goroutine services (300 in flight)", () => {
    const { spans, truth } = chain(300, true);
    const { parents } = assemble(spans, { algorithm: "deeptrace" });
    const goroutines = (s: Span) => /frontend|inventory/.test(s.service);
    const { right, total } = httpCallsRight(
      spans,
      truth.parentOf ?? new Map(),
      parents,
      goroutines,
    );
    expect(total).toBeGreaterThan(1000);
    expect(right / total).toBeGreaterThanOrEqual(0.99);
  });

  it("does at least as well as FIFO where payloads carry no transaction fields (50 in flight)", () => {
    const { spans, truth } = chain(50, false);
    const dt = score(assemble(spans, { algorithm: "deeptrace" }).traces, truth);
    const fifo = score(assemble(spans, { algorithm: "fifo" }).traces, truth);
    expect(dt.intra.precision).toBeGreaterThanOrEqual(fifo.intra.precision);
    expect(dt.e2e.accuracy).toBeGreaterThanOrEqual(fifo.e2e.accuracy);
    // The Java and Python services run each request on a worker thread of its own.
    expect(dt.intra.precision).toBeGreaterThan(0.75);
  });
});
