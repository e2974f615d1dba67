/**
 * The eBPF agent's Elasticsearch document (one request/response pair), as the agent writes
 * it into the index `spans_<agent>`. This is the production contract the generator emits;
 * see shared/data/README.md.
 *
 * Times are nanoseconds on the capturing host's kernel monotonic clock. Addresses are
 * normalised: src_* is the server side of the connection, dst_* the client side, so a
 * caller's Egress span and the callee's Ingress span of one call share the 4-tuple.
 */
export type AgentDirection = "Ingress" | "Egress";

/** Application protocol names as the agent reports them. */
export type AgentProtocol = "HTTP1" | "Redis" | "MySQL" | "DNS";

export interface EbpfTag {
  tgid: number;
  /** Thread id of the syscall (the kernel's pid). */
  pid: number;
  /** Process name (comm, at most 15 characters). */
  component: string;
  direction: AgentDirection;
  protocol: AgentProtocol;
  src_ip: string;
  dst_ip: string;
  src_port: number;
  dst_port: number;
  /** TCP sequence number of the request bytes (0 for UDP). */
  req_seq: number;
  /** TCP sequence number of the response bytes (0 for UDP). */
  resp_seq: number;
}

export interface DockerTag {
  container_id: string;
  /** Agents of different versions write either a string or the Docker API's name array. */
  container_name: string | string[];
  image: string;
  hostname: string;
  ip: string;
  network_mode?: string;
}

export interface AgentDocument {
  tag: {
    ebpf_tag: EbpfTag;
    docker_tag: DockerTag | null;
    other_tags?: Record<string, string>;
  };
  metric: {
    start_time: number;
    end_time: number;
    duration: number;
    req_size: number;
    resp_size: number;
  };
  content: {
    req_content: string;
    resp_content: string;
  };
}

/** One line of spans.ndjson: ready for an Elasticsearch bulk request or file ingestion. */
export interface SpanLine {
  index: string;
  id: string;
  doc: AgentDocument;
}
