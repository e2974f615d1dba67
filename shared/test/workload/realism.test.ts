import { generateWorkload } from "@deeptrace/shared/workload/generator";
import { describe, expect, it } from "vitest";
import { byKey, fourTuple, key } from "./helpers.js";

describe("workload realism", () => {
  const { spans, manifest } = generateWorkload({
    topology: "mixed",
    concurrency: 100,
    requests: 2000,
    seed: 13,
  });

  it("reuses keep-alive connections for several requests", () => {
    const perTuple = new Map<string, number>();
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (t.direction !== "Egress" || t.protocol === "DNS") continue;
      perTuple.set(fourTuple(s), (perTuple.get(fourTuple(s)) ?? 0) + 1);
    }
    const counts = [...perTuple.values()];
    expect(Math.max(...counts)).toBeGreaterThan(20);
    expect(manifest.stats.connectionsOpened).toBeLessThan(spans.length / 10);
  });

  it("looks up the target in DNS when it dials a new connection", () => {
    const dns = spans.filter((s) => s.line.doc.tag.ebpf_tag.protocol === "DNS");
    expect(dns.length).toBe(manifest.stats.dnsLookups);
    // Every dial except the load generator's (untraced) is preceded by one lookup.
    expect(dns.length).toBeGreaterThan(0);
    expect(
      dns.every((s) => s.truth.parent !== null && s.line.doc.tag.ebpf_tag.direction === "Egress"),
    ).toBe(true);
  });

  it("reuses worker thread ids for thread-per-request services and uses the serving thread for their calls", () => {
    const index = byKey(spans);
    const javaIngress = spans.filter(
      (s) =>
        s.line.doc.tag.ebpf_tag.component === "java" &&
        s.line.doc.tag.ebpf_tag.direction === "Ingress",
    );
    const threads = new Set(javaIngress.map((s) => s.line.doc.tag.ebpf_tag.pid));
    expect(threads.size).toBeGreaterThan(1);
    expect(threads.size).toBeLessThan(javaIngress.length / 5);
    let sameThread = 0;
    let egress = 0;
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (t.component !== "java" || t.direction !== "Egress" || t.protocol === "DNS") continue;
      const parent = index.get(key(s.truth.parent?.index ?? "", s.truth.parent?.docId ?? ""));
      egress++;
      if (parent?.line.doc.tag.ebpf_tag.pid === t.pid) sameThread++;
    }
    // Sequential calls run on the serving thread, parallel ones on executor threads.
    expect(sameThread / egress).toBeGreaterThan(0.6);
    expect(sameThread).toBeLessThan(egress);
  });

  it("uses the main thread for Node and Redis processes", () => {
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (t.component === "node" || t.component === "redis-server") expect(t.pid).toBe(t.tgid);
    }
  });

  it("adds network latency between hosts and processing time around calls", () => {
    const index = byKey(spans);
    const gaps: number[] = [];
    for (const s of spans) {
      if (
        s.line.doc.tag.ebpf_tag.direction !== "Egress" ||
        s.line.doc.tag.ebpf_tag.protocol !== "HTTP1"
      )
        continue;
      const p = index.get(key(s.truth.parent?.index ?? "", s.truth.parent?.docId ?? ""));
      if (p) gaps.push(s.line.doc.metric.start_time - p.line.doc.metric.start_time);
    }
    expect(Math.min(...gaps)).toBeGreaterThan(1_000);
  });
});

describe("transaction fields", () => {
  const on = generateWorkload({
    topology: "repeated",
    requests: 100,
    transactionFields: true,
    seed: 8,
  });
  const off = generateWorkload({
    topology: "repeated",
    requests: 100,
    transactionFields: false,
    requestIdHeader: false,
    seed: 8,
  });

  it("propagates the request's ids to downstream calls when on", () => {
    const index = byKey(on.spans);
    let checked = 0;
    for (const s of on.spans) {
      const t = s.line.doc.tag.ebpf_tag;
      if (
        t.direction !== "Egress" ||
        !s.line.doc.content.req_content.includes("/api/inventory/reserve")
      )
        continue;
      const parent = index.get(key(s.truth.parent?.index ?? "", s.truth.parent?.docId ?? ""));
      const orderId = /"order_id":(\d+)/.exec(parent?.line.doc.content.req_content ?? "")?.[1];
      expect(orderId).toBeDefined();
      expect(s.line.doc.content.req_content).toContain(`"order_id":${orderId}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(on.spans.some((s) => s.line.doc.content.req_content.includes("X-Request-Id: "))).toBe(
      true,
    );
  });

  it("writes generic payloads when off", () => {
    for (const s of off.spans) {
      const c = s.line.doc.content.req_content;
      expect(c).not.toContain("X-Request-Id");
      expect(c).not.toContain("order_id");
      expect(c).not.toMatch(/\?\w+=/);
    }
    // Same traffic shape either way.
    expect(off.spans.length).toBe(on.spans.length);
  });
});
