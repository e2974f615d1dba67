import { readFileSync } from "node:fs";

const ipv4 = (n) =>
  typeof n === "string"
    ? n
    : `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/**
 * One request/response pair of the agent's raw dump as the agent's Elasticsearch document.
 * The raw quintuple is (local, remote) of the syscall; documents carry the server side as
 * src_* and the client side as dst_*, so Egress spans swap the two ends.
 */
export function documentFromPair(pair) {
  const { req, resp } = pair;
  const q = req.quintuple;
  const ingress = req.direction === "Ingress";
  const local = { ip: ipv4(q.src_addr), port: q.src_port };
  const remote = { ip: ipv4(q.dst_addr), port: q.dst_port };
  const server = ingress ? local : remote;
  const client = ingress ? remote : local;
  const reqContent = req.payload ?? "";
  const respContent = resp.payload ?? "";
  return {
    tag: {
      ebpf_tag: {
        tgid: req.tgid,
        pid: req.pid,
        component: String(req.comm ?? "").replaceAll("\u0000", ""),
        direction: req.direction,
        protocol: req.protocol,
        src_ip: server.ip,
        dst_ip: client.ip,
        src_port: server.port,
        dst_port: client.port,
        req_seq: req.enter_seq ?? 0,
        resp_seq: resp.enter_seq ?? 0,
      },
      docker_tag: null,
    },
    metric: {
      start_time: req.timestamp_ns,
      end_time: resp.timestamp_ns,
      duration: resp.timestamp_ns - req.timestamp_ns,
      req_size: Buffer.byteLength(reqContent),
      resp_size: Buffer.byteLength(respContent),
    },
    content: { req_content: reqContent, resp_content: respContent },
  };
}

/**
 * The entries to replay, `{id, doc}` sorted by start time: the raw pairs dump
 * (`{"spans": [{req, resp}]}`, converted; no ids) or the workload generator's `spans.ndjson`
 * (`{index, id, doc}` lines, optionally only those of one source index; their ids are kept
 * so the generator's ground truth names the documents the emulator writes).
 */
export function loadDataset(path, sourceIndex) {
  const text = readFileSync(path, "utf8");
  let entries;
  if (path.endsWith(".ndjson")) {
    entries = text
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line))
      .filter((entry) => !sourceIndex || entry.index === sourceIndex)
      .map((entry) => ({ id: entry.id ?? null, doc: entry.doc }));
  } else {
    const parsed = JSON.parse(text);
    if (!Array.isArray(parsed.spans)) throw new Error(`${path}: expected {"spans": [...]}`);
    entries = parsed.spans.map((pair) => ({ id: null, doc: documentFromPair(pair) }));
  }
  if (entries.length === 0) throw new Error(`${path}: no spans to replay`);
  return entries.sort((a, b) => a.doc.metric.start_time - b.doc.metric.start_time);
}
