import type { AgentDocument } from "@deeptrace/shared/workload/agent-document";
import { generateWorkload } from "@deeptrace/shared/workload/generator";
import { describe, expect, it } from "vitest";

const PROTOCOLS = new Set(["HTTP1", "Redis", "MySQL", "DNS"]);
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function checkDocument(doc: AgentDocument): void {
  expect(Object.keys(doc).sort()).toEqual(["content", "metric", "tag"]);
  const t = doc.tag.ebpf_tag;
  expect(Object.keys(t).sort()).toEqual(
    [
      "component",
      "direction",
      "dst_ip",
      "dst_port",
      "pid",
      "protocol",
      "req_seq",
      "resp_seq",
      "src_ip",
      "src_port",
      "tgid",
    ].sort(),
  );
  for (const k of ["tgid", "pid", "src_port", "dst_port", "req_seq", "resp_seq"] as const) {
    expect(Number.isInteger(t[k]), k).toBe(true);
    expect(t[k]).toBeGreaterThanOrEqual(0);
  }
  expect(t.req_seq).toBeLessThan(2 ** 32);
  expect(t.src_port).toBeLessThan(65536);
  expect(t.dst_port).toBeLessThan(65536);
  expect(t.component.length).toBeGreaterThan(0);
  expect(t.component.length).toBeLessThanOrEqual(15);
  expect(["Ingress", "Egress"]).toContain(t.direction);
  expect(PROTOCOLS.has(t.protocol)).toBe(true);
  expect(t.src_ip).toMatch(IPV4);
  expect(t.dst_ip).toMatch(IPV4);
  const d = doc.tag.docker_tag;
  if (d !== null) {
    expect(d.container_id).toMatch(/^[0-9a-f]{64}$/);
    if (Array.isArray(d.container_name)) {
      for (const n of d.container_name) expect(typeof n).toBe("string");
    } else {
      expect(typeof d.container_name).toBe("string");
    }
    expect(typeof d.image).toBe("string");
    expect(typeof d.hostname).toBe("string");
    expect(d.ip).toMatch(IPV4);
  }
  if (doc.tag.other_tags !== undefined) {
    for (const v of Object.values(doc.tag.other_tags)) expect(typeof v).toBe("string");
  }
  const m = doc.metric;
  expect(Object.keys(m).sort()).toEqual([
    "duration",
    "end_time",
    "req_size",
    "resp_size",
    "start_time",
  ]);
  for (const v of Object.values(m)) expect(Number.isSafeInteger(v)).toBe(true);
  expect(m.end_time - m.start_time).toBe(m.duration);
  expect(m.duration).toBeGreaterThan(0);
  expect(m.req_size).toBeGreaterThanOrEqual(doc.content.req_content.length > 0 ? 1 : 0);
  expect(typeof doc.content.req_content).toBe("string");
  expect(typeof doc.content.resp_content).toBe("string");
}

describe("agent document format", () => {
  const { spans } = generateWorkload({
    topology: "mixed",
    hosts: 4,
    concurrency: 50,
    requests: 150,
    seed: 9,
  });

  it("matches the agent's Elasticsearch document shape", () => {
    for (const s of spans) checkDocument(s.line.doc);
    const lineKeys = new Set(spans.map((s) => Object.keys(s.line).join(",")));
    expect([...lineKeys]).toEqual(["index,id,doc"]);
  }, 30_000);

  it("writes container_name as a string on some hosts and as an array on others, and null docker tags for bare processes", () => {
    const kinds = new Set(
      spans.map((s) => {
        const d = s.line.doc.tag.docker_tag;
        return d === null ? "null" : Array.isArray(d.container_name) ? "array" : "string";
      }),
    );
    expect(kinds).toEqual(new Set(["null", "array", "string"]));
    expect(spans.some((s) => s.line.doc.tag.other_tags !== undefined)).toBe(true);
  });

  it("normalises addresses: the server side in src_*", () => {
    for (const s of spans) {
      const t = s.line.doc.tag.ebpf_tag;
      expect([53, 3000, 3306, 5000, 6379, 8000, 8080]).toContain(t.src_port);
      expect(t.dst_port).toBeGreaterThanOrEqual(32768);
      if (t.protocol === "DNS") expect([t.req_seq, t.resp_seq]).toEqual([0, 0]);
    }
  });

  it("writes HTTP/1, Redis RESP, MySQL COM_QUERY and DNS payloads with wire sizes", () => {
    const sample = (p: string) =>
      spans.find((s) => s.line.doc.tag.ebpf_tag.protocol === p)?.line.doc;
    const http = sample("HTTP1");
    expect(http?.content.req_content).toMatch(
      /^(GET|POST|PUT) \/\S* HTTP\/1\.1\r\nHost: [^\r]+\r\n/,
    );
    expect(http?.content.resp_content).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(http?.metric.req_size).toBe(http?.content.req_content.length);
    expect(sample("Redis")?.content.req_content).toMatch(
      /^\*\d+\r\n\$\d+\r\n(GET|SET|HGETALL|INCR)\r\n/,
    );
    const mysql = sample("MySQL");
    expect(mysql?.content.req_content.charCodeAt(4)).toBe(3);
    expect(mysql?.content.req_content.slice(5)).toMatch(/^(SELECT|INSERT|UPDATE) /);
    expect(mysql?.metric.req_size).toBe(mysql?.content.req_content.length);
    const dns = sample("DNS");
    expect(dns?.content.req_content).toMatch(/[a-z]+/);
    expect(dns?.tag.ebpf_tag.src_port).toBe(53);
  });

  it("truncates captured payloads but keeps wire sizes", () => {
    const small = generateWorkload({
      topology: "repeated",
      requests: 20,
      maxPayloadBytes: 64,
      seed: 9,
    });
    for (const s of small.spans) {
      expect(s.line.doc.content.req_content.length).toBeLessThanOrEqual(64);
      expect(s.line.doc.metric.req_size).toBeGreaterThanOrEqual(
        s.line.doc.content.req_content.length,
      );
    }
    expect(small.spans.some((s) => s.line.doc.metric.req_size > 64)).toBe(true);
  });
});
