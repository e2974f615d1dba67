/**
 * A small deterministic workload for engine tests: a front service A that, per request,
 * calls B and then C over keep-alive connections, as agent documents on one or two hosts.
 */
import type { Span } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";

export interface SyntheticOptions {
  requests: number;
  /** ns between request arrivals */
  intervalNs: number;
  /** Clock offset of host 2 (B and C) relative to host 1 (A), ns: its raw clock runs ahead. */
  skewNs?: number;
  /** Callee sees a different (NATed) client address than the caller reports. */
  nat?: boolean;
  /** Put the request id in payloads (transaction field). */
  transactionFields?: boolean;
  seed?: number;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function agentDoc(o: {
  dir: "Ingress" | "Egress";
  tgid: number;
  pid: number;
  comm: string;
  server: [string, number];
  client: [string, number];
  start: number;
  end: number;
  req: string;
  resp: string;
}) {
  return {
    tag: {
      ebpf_tag: {
        tgid: o.tgid,
        pid: o.pid,
        component: o.comm,
        direction: o.dir,
        protocol: "HTTP1",
        src_ip: o.server[0],
        src_port: o.server[1],
        dst_ip: o.client[0],
        dst_port: o.client[1],
        req_seq: 0,
        resp_seq: 1,
      },
      docker_tag: { container_name: [`/${o.comm}`], container_id: o.comm, hostname: o.comm },
    },
    metric: {
      start_time: Math.round(o.start),
      end_time: Math.round(o.end),
      duration: Math.round(o.end - o.start),
      req_size: o.req.length,
      resp_size: o.resp.length,
    },
    content: { req_content: o.req, resp_content: o.resp },
  };
}

export interface Synthetic {
  spans: Span[];
  /** span id -> request id */
  requestOf: Map<string, string>;
  /** span id -> true parent span id ("" for roots) */
  parentOf: Map<string, string>;
}

export function synthetic(options: SyntheticOptions): Synthetic {
  const rand = rng(options.seed ?? 7);
  const skew = options.skewNs ?? 0;
  const tx = options.transactionFields ?? true;
  const host1: unknown[] = [];
  const host2: unknown[] = [];
  const truth: { host: 1 | 2; i: number; req: string; parent?: { host: 1 | 2; i: number } }[] = [];
  const base = 1_000_000_000;
  // Connection pools: A -> B and A -> C, one connection per in-flight call (sequential reuse).
  const pools: Record<"B" | "C", { port: number; freeAt: number }[]> = { B: [], C: [] };
  const connection = (to: "B" | "C", at: number, until: number) => {
    const pool = pools[to];
    let conn = pool.find((c) => c.freeAt <= at);
    if (!conn) {
      conn = { port: 40000 + pools.B.length + pools.C.length, freeAt: 0 };
      pool.push(conn);
    }
    conn.freeAt = until + 1000;
    return conn.port;
  };
  const ip = { A: "10.0.0.1", B: "10.0.0.2", C: "10.0.0.3", client: "10.0.0.9" };
  for (let r = 0; r < options.requests; r++) {
    const id = `${r.toString(16).padStart(8, "0")}-${Math.floor(rand() * 0xffff)
      .toString(16)
      .padStart(4, "0")}-4000-8000-${Math.floor(rand() * 2 ** 40)
      .toString(16)
      .padStart(12, "0")}`;
    const hdr = tx ? `X-Request-Id: ${id}\r\n` : "";
    const body = tx ? `{"id":"${id}"}` : `{"ok":true}`;
    const t0 = base + r * options.intervalNs + rand() * options.intervalNs * 0.5;
    const bStart = t0 + 50_000 + rand() * 200_000;
    const bDur = 200_000 + rand() * 800_000;
    const cStart = bStart + bDur + 30_000 + rand() * 100_000;
    const cDur = 200_000 + rand() * 800_000;
    const t1 = cStart + cDur + 50_000 + rand() * 200_000;
    const aPid = 100 + (r % 4);
    const aIdx = host1.length;
    host1.push(
      agentDoc({
        dir: "Ingress",
        tgid: 10,
        pid: aPid,
        comm: "svc-a",
        server: [ip.A, 8080],
        client: [ip.client, 20000 + (r % 20000)],
        start: t0,
        end: t1,
        req: `GET /home HTTP/1.1\r\nHost: a\r\n${hdr}\r\n`,
        resp: `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      }),
    );
    truth.push({ host: 1, i: aIdx, req: id });
    for (const [to, start, dur, tgid, path] of [
      ["B", bStart, bDur, 20, "/users"],
      ["C", cStart, cDur, 30, "/orders"],
    ] as const) {
      const port = connection(to, start, start + dur);
      const reqText = `GET ${path}?q=${r % 7} HTTP/1.1\r\nHost: ${to.toLowerCase()}\r\n${hdr}\r\n`;
      const respText = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const eIdx = host1.length;
      host1.push(
        agentDoc({
          dir: "Egress",
          tgid: 10,
          pid: aPid,
          comm: "svc-a",
          server: [ip[to], 80],
          client: [ip.A, port],
          start,
          end: start + dur,
          req: reqText,
          resp: respText,
        }),
      );
      truth.push({ host: 1, i: eIdx, req: id, parent: { host: 1, i: aIdx } });
      const gIdx = host2.length;
      host2.push(
        agentDoc({
          dir: "Ingress",
          tgid,
          pid: tgid * 10 + (r % 3),
          comm: `svc-${to.toLowerCase()}`,
          server: [ip[to], 80],
          client: options.nat ? ["172.16.0.1", 50000 + ((port * 7) % 10000)] : [ip.A, port],
          start: start + 20_000 + skew,
          end: start + dur - 20_000 + skew,
          req: reqText,
          resp: respText,
        }),
      );
      truth.push({ host: 2, i: gIdx, req: id, parent: { host: 1, i: eIdx } });
    }
  }
  const hits = (docs: unknown[], index: string) =>
    docs.map((d, i) => ({ _index: index, _id: `d${i}`, _source: d }));
  const result = ingestDocuments([...hits(host1, "spans_host1"), ...hits(host2, "spans_host2")], {
    format: "auto",
    index: "unused",
    // Host 2's raw clock runs `skew` ahead; its measured offset undoes most of it but not all.
    clockOffsetsNs: new Map([["host2", BigInt(-Math.round(skew * 0.9))]]),
  });
  const idOf = (host: 1 | 2, i: number) => {
    const index = host === 1 ? 0 : host1.length;
    return (result.spans[index + i] as Span).spanId;
  };
  const requestOf = new Map<string, string>();
  const parentOf = new Map<string, string>();
  for (const t of truth) {
    const id = idOf(t.host, t.i);
    requestOf.set(id, t.req);
    parentOf.set(id, t.parent ? idOf(t.parent.host, t.parent.i) : "");
  }
  return { spans: result.spans, requestOf, parentOf };
}
