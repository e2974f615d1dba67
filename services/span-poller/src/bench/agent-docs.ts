/**
 * Synthetic agent documents for the poller's benchmark and integration tests: the agent's
 * Elasticsearch document format (shared/data/README.md) with a start time given in wall
 * clock and written on the host's monotonic clock (wall minus the host's clock offset).
 */
export interface SyntheticAgent {
  name: string;
  index: string;
  /** Wall clock minus monotonic clock on the agent's host. */
  offsetNs: bigint;
}

/**
 * Agents whose hosts booted 10, 30, 50... days ago: offsets differ by tens of days, and raw
 * times stay below 2^53 ns, the range JSON numbers carry exactly.
 */
export function syntheticAgents(prefix: string, count: number): SyntheticAgent[] {
  const wallNow = BigInt(Date.now()) * 1_000_000n;
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}-host${i}`;
    const uptimeNs = BigInt(10 + 20 * i) * 86_400n * 1_000_000_000n;
    return { name, index: `spans_${name}`, offsetNs: wallNow - uptimeNs };
  });
}

/** The n-th document of an agent, starting at wall time `wallNs`. */
export function agentDoc(agent: SyntheticAgent, wallNs: bigint, n: number) {
  const raw = Number(wallNs - agent.offsetNs);
  return {
    tag: {
      ebpf_tag: {
        tgid: 4000 + (n % 3),
        pid: 5000 + (n % 11),
        component: "svc",
        direction: n % 2 === 0 ? "Ingress" : "Egress",
        protocol: "HTTP1",
        src_ip: "10.0.0.1",
        dst_ip: "10.0.0.2",
        src_port: 8080,
        dst_port: 30000 + (n % 30000),
        req_seq: n,
        resp_seq: n,
      },
      docker_tag: null,
    },
    metric: {
      start_time: raw,
      end_time: raw + 250_000,
      duration: 250_000,
      req_size: 40,
      resp_size: 20,
    },
    content: {
      req_content: `GET /items/${n} HTTP/1.1\r\nHost: svc\r\n\r\n`,
      resp_content: "HTTP/1.1 200 OK\r\n\r\n",
    },
  };
}

/** Mapping of an agent index as far as the poller relies on it. */
export const AGENT_INDEX_MAPPINGS = {
  properties: { metric: { properties: { start_time: { type: "long" } } } },
} as const;
