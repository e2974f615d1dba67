import { Direction } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { ingestDocuments, ingestTable } from "@deeptrace/shared/spans/ingest";
import { describe, expect, it } from "vitest";

// 10.0.0.1 and 10.0.0.2 as u32 in host order.
const IP1 = (10 << 24) + 1;
const IP2 = (10 << 24) + 2;

function side(o: Record<string, unknown>): Record<string, unknown> {
  return {
    tgid: 7,
    pid: 8,
    comm: "svc\0\0\0",
    protocol: "HTTP1",
    syscall: "read",
    enter_seq: 1,
    exit_seq: 2,
    uuid: 99,
    ...o,
  };
}

function pair(direction: "Ingress" | "Egress", local: [number, number], remote: [number, number]) {
  const quintuple = {
    src_addr: local[0],
    src_port: local[1],
    dst_addr: remote[0],
    dst_port: remote[1],
    l4_protocol: "IPPROTO_TCP",
  };
  // The caller is another process.
  const tgid = direction === "Ingress" ? 7 : 9;
  return {
    req: side({
      tgid,
      direction,
      type: "Request",
      timestamp_ns: 1000,
      quintuple,
      payload: "GET /x HTTP/1.1\r\nX-Request-Id: r1\r\n\r\n",
    }),
    resp: side({
      tgid,
      direction,
      type: "Response",
      timestamp_ns: 5000,
      quintuple,
      payload: "HTTP/1.1 200 OK\r\n\r\n",
    }),
  };
}

function agentDoc(docker: unknown, extra: Record<string, unknown> = {}) {
  return {
    tag: {
      ebpf_tag: {
        tgid: 10,
        pid: 11,
        component: "svc",
        direction: "Egress",
        protocol: "HTTP1",
        src_ip: "10.0.0.2",
        src_port: 80,
        dst_ip: "10.0.0.1",
        dst_port: 40000,
        req_seq: 1,
        resp_seq: 2,
      },
      docker_tag: docker,
      ...extra,
    },
    metric: { start_time: 100, end_time: 300, duration: 200, req_size: 20, resp_size: 30 },
    content: {
      req_content: "GET /a?b=1 HTTP/1.1\r\n\r\n",
      resp_content: "HTTP/1.1 200 OK\r\n\r\n",
    },
  };
}

describe("raw request/response dump (pairs)", () => {
  it("normalises the raw (local, remote) quintuple so src is the server side", () => {
    const { spans, rejected } = ingestDocuments(
      [pair("Ingress", [IP1, 8080], [IP2, 40000]), pair("Egress", [IP2, 40000], [IP1, 8080])],
      { format: "pairs", index: "dump" },
    );
    expect(rejected).toBe(0);
    const [server, client] = spans;
    for (const s of [server, client]) {
      expect(s?.connection).toMatchObject({
        srcIp: "10.0.0.1",
        srcPort: 8080,
        dstIp: "10.0.0.2",
        dstPort: 40000,
        l4Protocol: "TCP",
      });
    }
    expect(server?.direction).toBe(Direction.INGRESS);
    expect(client?.direction).toBe(Direction.EGRESS);
    expect(server?.comm).toBe("svc");
    expect(server?.rawStartNs).toBe(1000n);
    expect(server?.rawEndNs).toBe(5000n);
    expect(server?.observedIds.map((o) => o.value)).toEqual(["r1"]);
  });

  it("rejects a pair whose response precedes its request", () => {
    const bad = pair("Ingress", [IP1, 8080], [IP2, 40000]);
    bad.resp.timestamp_ns = 10;
    const r = ingestDocuments([bad], { format: "pairs", index: "dump" });
    expect(r.rejected).toBe(1);
    expect(Object.keys(r.reasons)).toEqual(["pairs: resp.timestamp_ns is before req.timestamp_ns"]);
  });
});

describe("agent document", () => {
  it("takes container_name as a string or the first of an array, without the leading slash", () => {
    const { spans } = ingestDocuments(
      [
        { _index: "spans_n1", _id: "a", _source: agentDoc({ container_name: "/shop-cart-1" }) },
        {
          _index: "spans_n1",
          _id: "b",
          _source: agentDoc({ container_name: ["/shop-cart-1", "/alias"], hostname: "h1" }),
        },
      ],
      { format: "agent", index: "unused" },
    );
    expect(spans.map((s) => s.containerName)).toEqual(["shop-cart-1", "shop-cart-1"]);
    expect(spans.map((s) => s.service)).toEqual(["shop-cart-1", "shop-cart-1"]);
    expect(spans[0]?.agent).toBe("n1");
    expect(spans[0]?.endpoint).toBe("GET /a");
  });

  it("accepts docker_tag null (a process on the bare host) and names it by comm and address", () => {
    const { spans, rejected } = ingestDocuments([agentDoc(null)], {
      format: "agent",
      index: "spans_n2",
    });
    expect(rejected).toBe(0);
    expect(spans[0]?.containerName).toBe("");
    expect(spans[0]?.service).toBe("svc@10.0.0.1");
  });

  it("keeps other_tags as labels", () => {
    const { spans } = ingestDocuments(
      [agentDoc(null, { other_tags: { env: "prod", node: "h3" } })],
      { format: "agent", index: "spans_n3" },
    );
    expect(spans[0]?.labels).toMatchObject({ env: "prod", node: "h3" });
  });

  it("applies the agent's clock offset and keeps the raw times", () => {
    const { spans } = ingestDocuments([agentDoc(null)], {
      format: "agent",
      index: "spans_n4",
      clockOffsetsNs: new Map([["n4", 1_000n]]),
    });
    expect(spans[0]?.startTimeNs).toBe(1_100n);
    expect(spans[0]?.rawStartNs).toBe(100n);
    expect(spans[0]?.clockOffsetNs).toBe(1_000n);
  });

  it("gives each hit the agent and clock offset of its own index, bare documents those of the options", () => {
    const hit = (index: string, id: string) => ({
      _index: index,
      _id: id,
      _source: agentDoc(null),
    });
    const { spans } = ingestDocuments(
      [hit("spans_a", "1"), hit("spans_b", "2"), agentDoc(null), hit("spans_a", "3")],
      {
        format: "agent",
        index: "spans_n4",
        clockOffsetsNs: new Map([
          ["a", 10n],
          ["b", 20n],
          ["n4", 40n],
        ]),
      },
    );
    expect(spans.map((s) => [s.agent, s.sourceIndex, s.clockOffsetNs])).toEqual([
      ["a", "spans_a", 10n],
      ["b", "spans_b", 20n],
      ["n4", "spans_n4", 40n],
      ["a", "spans_a", 10n],
    ]);
  });
});

describe("malformed documents", () => {
  it("are rejected with a reason and counted, never crash the run", () => {
    const noMetric = agentDoc(null) as Record<string, unknown>;
    delete noMetric.metric;
    const badDirection = agentDoc(null);
    badDirection.tag.ebpf_tag.direction = "Sideways";
    const backwards = agentDoc(null);
    backwards.metric.end_time = 1;
    const good = agentDoc(null);
    const r = ingestDocuments([null, 42, "x", noMetric, badDirection, backwards, good, good], {
      format: "agent",
      index: "spans_n5",
    });
    expect(r.read).toBe(8);
    expect(r.spans).toHaveLength(1);
    expect(r.rejected).toBe(7);
    expect(r.reasons).toEqual({
      "agent: document is not an object": 3,
      "agent: metric is missing or not an object": 1,
      "agent: metric.end_time is before metric.start_time": 1,
      "agent: tag.ebpf_tag.direction is neither Ingress nor Egress": 1,
      "duplicate document (same span id)": 1,
    });
    expect(r.examples[0]).toEqual({ position: 0, reason: "agent: document is not an object" });
  });

  it("with times beyond int64 (what a Span and a SpanTable hold) are rejected by both ingestors", () => {
    const late = agentDoc(null);
    // Decimal strings, as documents may carry times JSON numbers cannot hold exactly.
    Object.assign(late.metric, {
      start_time: "18446744073709551000",
      end_time: "18446744073709551615",
    });
    const options = { format: "agent" as const, index: "spans_n6" };
    const reasons = { "agent: time is out of the int64 range": 1 };
    expect(ingestDocuments([late], options).reasons).toEqual(reasons);
    expect(ingestTable([late], options).reasons).toEqual(reasons);
  });

  it("of an unknown format are rejected when the format is detected", () => {
    const r = ingestDocuments([{ hello: "world" }], { format: "auto", index: "x" });
    expect(r.rejected).toBe(1);
    expect(r.reasons).toEqual({ "unrecognised document format": 1 });
  });
});
