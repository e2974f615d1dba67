import { toJsonString } from "@bufbuild/protobuf";
import type { Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { LinkKind, TraceSchema } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { spanFromAgentDocument } from "@deeptrace/shared/spans/agent-document";
import { traceIdFor } from "@deeptrace/shared/spans/ids";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/engine/assemble.js";
import { score } from "../../src/scoring/score.js";
import { synthetic } from "./synthetic.js";

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const parentLevel = (w: ReturnType<typeof synthetic>) => ({
  level: "parent" as const,
  requestOf: w.requestOf,
  parentOf: w.parentOf,
});

describe("assemble", () => {
  it("rebuilds every request of a low-concurrency workload as one complete trace", () => {
    const w = synthetic({ requests: 50, intervalNs: 5_000_000 });
    const { traces, stats } = assemble(w.spans, { algorithm: "deeptrace" });
    expect(traces).toHaveLength(50);
    for (const t of traces) {
      expect(t.spanCount).toBe(5);
      expect(t.traceId).toBe(traceIdFor(t.rootSpanId));
      expect(t.completeness?.rootPresent).toBe(true);
      expect(t.services).toEqual(["svc-a", "svc-b", "svc-c"]);
      expect(t.spans.filter((s) => s.linkKind === LinkKind.ROOT)).toHaveLength(1);
    }
    expect(stats.links).toMatchObject({ cross: 100, intra: 100 });
    const report = score(traces, parentLevel(w));
    expect(report.e2e.accuracy).toBe(1);
    expect(report.cross.precision).toBe(1);
  });

  it("gives every span exactly one trace and at most one parent, inside its trace", () => {
    const w = synthetic({ requests: 300, intervalNs: 300_000 });
    for (const algorithm of ["deeptrace", "fifo"] as const) {
      const { traces } = assemble(w.spans, { algorithm });
      const seen = new Set<string>();
      for (const t of traces) {
        const ids = new Set(t.spans.map((s) => s.spanId));
        for (const s of t.spans) {
          expect(seen.has(s.spanId)).toBe(false);
          seen.add(s.spanId);
          if (s.parentSpanId) expect(ids.has(s.parentSpanId)).toBe(true);
          else expect(s.spanId).toBe(t.rootSpanId);
        }
      }
      expect(seen.size).toBe(w.spans.length);
    }
  });

  it("gives the same output for the same spans in any order", () => {
    const w = synthetic({ requests: 200, intervalNs: 400_000 });
    const json = (spans: Span[]) => {
      const r = assemble(spans, { algorithm: "deeptrace" });
      return r.traces.map((t) => toJsonString(TraceSchema, t)).join("\n");
    };
    const reference = json(w.spans);
    expect(json(shuffled(w.spans, 1))).toBe(reference);
    expect(json(shuffled(w.spans, 2).reverse())).toBe(reference);
  });

  it("links across hosts whose clocks disagree by more than a request lasts", () => {
    const w = synthetic({ requests: 100, intervalNs: 3_000_000, skewNs: 40_000_000 });
    const r = assemble(w.spans, { algorithm: "deeptrace" });
    const report = score(r.traces, parentLevel(w));
    expect(report.cross.recall).toBe(1);
    expect(report.cross.precision).toBe(1);
    expect(r.stats.skews.length).toBeGreaterThan(0);
    expect(r.traces.every((t) => t.completeness?.skewApplied)).toBe(true);
  });

  it("falls back to server port, endpoint and time when NAT rewrites the client address", () => {
    const w = synthetic({ requests: 60, intervalNs: 4_000_000, nat: true });
    const r = assemble(w.spans, { algorithm: "deeptrace" });
    expect(r.stats.links.crossNatFallback).toBe(120);
    const report = score(r.traces, parentLevel(w));
    expect(report.cross.precision).toBe(1);
    expect(report.e2eAllLinks.accuracy).toBe(1);
  });

  it("beats FIFO when requests overlap and payloads carry transaction fields", () => {
    const w = synthetic({ requests: 400, intervalNs: 250_000 });
    const accuracy = (algorithm: "deeptrace" | "fifo") =>
      score(assemble(w.spans, { algorithm }).traces, parentLevel(w)).e2e.accuracy;
    const deeptrace = accuracy("deeptrace");
    const fifo = accuracy("fifo");
    expect(deeptrace).toBeGreaterThanOrEqual(0.95);
    expect(fifo).toBeLessThan(deeptrace);
  });

  it("links through observed ids only when asked to", () => {
    const w = synthetic({ requests: 100, intervalNs: 300_000 });
    expect(assemble(w.spans, { algorithm: "fifo" }).stats.links.observed).toBe(0);
    const r = assemble(w.spans, { algorithm: "fifo", useObservedIds: true });
    expect(r.stats.links.observed).toBe(200);
    expect(score(r.traces, parentLevel(w)).e2e.accuracy).toBe(1);
  });

  it("emits only traces whose root starts inside the window", () => {
    const w = synthetic({ requests: 40, intervalNs: 10_000_000 });
    const all = assemble(w.spans, { algorithm: "deeptrace" }).traces;
    const starts = all.map((t) => t.startTimeNs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const window = { startNs: starts[10] as bigint, endNs: starts[20] as bigint };
    const some = assemble(w.spans, { algorithm: "deeptrace", window });
    expect(some.traces).toHaveLength(10);
    expect(
      some.traces.every((t) => t.startTimeNs >= window.startNs && t.startTimeNs < window.endNs),
    ).toBe(true);
    expect(some.stats.tracesTotal).toBe(40);
  });

  it("builds a service graph with one id space for services", () => {
    const w = synthetic({ requests: 30, intervalNs: 5_000_000 });
    const { graph } = assemble(w.spans, { algorithm: "deeptrace" });
    expect(graph.nodes.map((n) => n.service)).toEqual(["svc-a", "svc-b", "svc-c"]);
    expect(graph.edges.map((e) => [e.source, e.target, e.callCount])).toEqual([
      ["svc-a", "svc-b", 30n],
      ["svc-a", "svc-c", 30n],
    ]);
    const a = graph.nodes[0];
    expect(a?.spanCount).toBe(90n);
    expect((a?.latency?.p50Ns ?? 0n) > 0n).toBe(true);
  });

  it("names one process one service when its spans arrive one by one, as the poller sends them", () => {
    // A bare-host process serving on 10.0.0.1 that resolves a name through a loopback
    // resolver: the DNS span alone would be named after the host, not the address.
    const doc = (
      direction: string,
      server: [string, number],
      client: [string, number],
      start: number,
    ) => ({
      tag: {
        ebpf_tag: {
          tgid: 10,
          pid: 11,
          component: "main",
          direction,
          protocol: direction === "Ingress" ? "HTTP1" : "DNS",
          src_ip: server[0],
          src_port: server[1],
          dst_ip: client[0],
          dst_port: client[1],
          req_seq: 0,
          resp_seq: 1,
        },
        docker_tag: null,
      },
      metric: {
        start_time: start,
        end_time: start + 1_000,
        duration: 1_000,
        req_size: 1,
        resp_size: 1,
      },
      content: {
        req_content: direction === "Ingress" ? "GET / HTTP/1.1\r\n\r\n" : "",
        resp_content: "",
      },
    });
    const ctx = { agent: "node-1", index: "spans_node-1", clockOffsetNs: 0n };
    const spans = [
      spanFromAgentDocument(doc("Ingress", ["10.0.0.1", 8080], ["10.0.0.9", 40000], 1_000_000), {
        ...ctx,
        docId: "in",
      }),
      spanFromAgentDocument(doc("Egress", ["127.0.0.53", 53], ["127.0.0.1", 50000], 1_000_100), {
        ...ctx,
        docId: "dns",
      }),
    ];
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(["main@10.0.0.1", "main@node-1"]));
    const { traces, graph } = assemble(spans, { algorithm: "deeptrace" });
    expect(traces.flatMap((t) => t.spans.map((s) => s.service))).toEqual([
      "main@10.0.0.1",
      "main@10.0.0.1",
    ]);
    expect(graph.nodes.map((n) => n.service)).toEqual(["main@10.0.0.1"]);
  });

  it("handles an empty batch", () => {
    const r = assemble([], { algorithm: "deeptrace" });
    expect(r.traces).toEqual([]);
    expect(r.graph.nodes).toEqual([]);
  });
});
