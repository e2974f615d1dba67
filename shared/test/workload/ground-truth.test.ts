import { generateWorkload } from "@deeptrace/shared/workload/generator";
import { parseGroundTruthLine } from "@deeptrace/shared/workload/ground-truth";
import type { TopologyName } from "@deeptrace/shared/workload/topology";
import { describe, expect, it } from "vitest";
import { byKey, fourTuple, key, wallTimes } from "./helpers.js";

const TOPOLOGIES: TopologyName[] = ["chain", "fanout", "repeated", "cache", "mixed"];

describe.each(TOPOLOGIES)("ground truth of the %s topology", (topology) => {
  const { spans, manifest } = generateWorkload({
    topology,
    concurrency: 120,
    requests: 600,
    hosts: 3,
    seed: 11,
  });
  const index = byKey(spans);

  it("has a parent that exists for every non-root span, in the same trace", () => {
    for (const s of spans) {
      if (s.truth.parent === null) continue;
      const parent = index.get(key(s.truth.parent.index, s.truth.parent.docId));
      expect(parent, `${s.line.id} parent`).toBeDefined();
      expect(parent?.truth.traceId).toBe(s.truth.traceId);
    }
  });

  it("describes each document by its own index and id", () => {
    for (const s of spans) {
      expect(s.truth.index).toBe(s.line.index);
      expect(s.truth.docId).toBe(s.line.id);
      expect(parseGroundTruthLine(JSON.stringify(s.truth))).toEqual(s.truth);
    }
  });

  it("parents every Egress span with an Ingress span of the same process containing it on that host's clock", () => {
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (t.direction !== "Egress") continue;
      expect(s.truth.parent).not.toBeNull();
      const p = index.get(key(s.truth.parent?.index ?? "", s.truth.parent?.docId ?? ""));
      if (!p) throw new Error("missing parent");
      const pt = p.line.doc.tag.ebpf_tag;
      expect(pt.direction).toBe("Ingress");
      expect(p.line.index).toBe(s.line.index);
      expect(pt.tgid).toBe(t.tgid);
      expect(p.line.doc.metric.start_time).toBeLessThanOrEqual(s.line.doc.metric.start_time);
      expect(p.line.doc.metric.end_time).toBeGreaterThanOrEqual(s.line.doc.metric.end_time);
    }
  });

  it("links a callee Ingress to the caller Egress with the same normalised 4-tuple and TCP sequence numbers", () => {
    let crossLinks = 0;
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (t.direction !== "Ingress" || s.truth.parent === null) continue;
      const p = index.get(key(s.truth.parent.index, s.truth.parent.docId));
      if (!p) throw new Error("missing parent");
      const pt = p.line.doc.tag.ebpf_tag;
      expect(pt.direction).toBe("Egress");
      expect(fourTuple(p)).toBe(fourTuple(s));
      expect([pt.req_seq, pt.resp_seq]).toEqual([t.req_seq, t.resp_seq]);
      expect(p.line.doc.content).toEqual(s.line.doc.content);
      // Normalised to wall clock, the callee's span lies inside the caller's.
      const callee = wallTimes(manifest, s);
      const caller = wallTimes(manifest, p);
      expect(callee.start).toBeGreaterThan(caller.start);
      expect(callee.end).toBeLessThan(caller.end);
      crossLinks++;
    }
    expect(crossLinks).toBeGreaterThan(600);
  });

  it("has exactly one root (an Ingress span) per trace", () => {
    const roots = new Map<string, number>();
    const traces = new Set<string>();
    for (const s of spans) {
      traces.add(s.truth.traceId);
      if (s.truth.parent === null) {
        expect(s.line.doc.tag.ebpf_tag.direction).toBe("Ingress");
        roots.set(s.truth.traceId, (roots.get(s.truth.traceId) ?? 0) + 1);
      }
    }
    for (const t of traces) expect(roots.get(t), t).toBe(1);
    expect(manifest.stats.requestsCompleted).toBe(600);
    expect(traces.size).toBe(600 + manifest.stats.healthChecks);
  });
});

describe("topology shapes in the ground truth", () => {
  it("repeats the same downstream call several times within one request", () => {
    const { spans } = generateWorkload({
      topology: "repeated",
      concurrency: 20,
      requests: 200,
      seed: 3,
    });
    const perParent = new Map<string, number>();
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (
        t.direction !== "Egress" ||
        t.protocol !== "HTTP1" ||
        !s.line.doc.content.req_content.includes("/api/inventory/reserve")
      )
        continue;
      const k = `${s.truth.parent?.docId}`;
      perParent.set(k, (perParent.get(k) ?? 0) + 1);
    }
    const counts = [...perParent.values()];
    expect(Math.max(...counts)).toBe(5);
    expect(Math.min(...counts)).toBe(1);
  });

  it("gives cache and database children no propagated id", () => {
    const { spans } = generateWorkload({
      topology: "cache",
      concurrency: 20,
      requests: 200,
      seed: 3,
    });
    const db = spans.filter((s) => ["Redis", "MySQL"].includes(s.line.doc.tag.ebpf_tag.protocol));
    expect(db.length).toBeGreaterThan(400);
    for (const s of db)
      expect(s.line.doc.content.req_content).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(new Set(db.map((s) => s.line.doc.tag.ebpf_tag.protocol))).toEqual(
      new Set(["Redis", "MySQL"]),
    );
  });

  it("issues fan-out calls concurrently from one Ingress span", () => {
    const { spans } = generateWorkload({
      topology: "fanout",
      concurrency: 10,
      requests: 50,
      seed: 3,
    });
    const index = byKey(spans);
    let overlapping = 0;
    const children = new Map<string, Array<{ start: number; end: number }>>();
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (t.direction !== "Egress" || t.protocol !== "HTTP1" || t.component !== "frontend")
        continue;
      const k = `${s.truth.parent?.docId}`;
      const list = children.get(k) ?? [];
      list.push({ start: s.line.doc.metric.start_time, end: s.line.doc.metric.end_time });
      children.set(k, list);
      expect(index.has(key(s.truth.parent?.index ?? "", k))).toBe(true);
    }
    for (const list of children.values()) {
      expect(list.length).toBe(5);
      const sorted = list.sort((a, b) => a.start - b.start);
      if ((sorted[1]?.start ?? 0) < (sorted[0]?.end ?? 0)) overlapping++;
    }
    // Not always: a call that has to dial (DNS, handshake) may start after a fast sibling ended.
    expect(overlapping).toBeGreaterThan(children.size * 0.9);
  });
});
