import type { Host } from "./hosts.js";
import type { WorkloadOptions } from "./options.js";
import type { Process } from "./processes.js";
import type { Simulation, WorkloadStats } from "./simulator.js";
import { type Step, type ThreadModel, type Topology, threadModelOf } from "./topology.js";

export interface ManifestAgent {
  agent: string;
  index: string;
  hostname: string;
  ip: string;
  /** Monotonic clock reading (ns since boot) when the simulation started. */
  uptimeAtStartNs: number;
  /**
   * Wall clock minus monotonic clock in ns (decimal string: it exceeds 2^53). Add it to a
   * document's start_time/end_time to get Unix epoch nanoseconds.
   */
  clockOffsetNs: string;
  /** The offset as a measurement would have recorded it (clockOffsetNs plus error). */
  recordedClockOffsetNs: string;
  bootTime: string;
  containerNameFormat: "string" | "array";
}

export interface ManifestInstance {
  agent: string;
  tgid: number;
  comm: string;
  ip: string;
  port: number;
  containerName: string | null;
}

export interface ManifestService {
  name: string;
  kind: string;
  language: string;
  threadModel: ThreadModel;
  port: number;
  operations: Record<string, { method: string; path: string }>;
  instances: ManifestInstance[];
}

export interface ManifestEdge {
  from: string;
  to: string;
  protocol: string;
}

export interface WorkloadManifest {
  generator: { name: "deeptrace-workload"; formatVersion: 1 };
  parameters: WorkloadOptions;
  /** Wall clock at simulated time 0, Unix epoch ns (decimal string). */
  startWallNs: string;
  agents: ManifestAgent[];
  topology: {
    name: string;
    description: string;
    services: ManifestService[];
    entries: Array<{ service: string; operation: string; weight: number }>;
    edges: ManifestEdge[];
  };
  files: { spans: string; groundTruth: string };
  stats: WorkloadStats;
}

function agentEntry(h: Host): ManifestAgent {
  return {
    agent: h.agent,
    index: h.index,
    hostname: h.hostname,
    ip: h.ip,
    uptimeAtStartNs: h.uptimeAtStartNs,
    clockOffsetNs: h.clockOffsetNs.toString(),
    recordedClockOffsetNs: h.recordedClockOffsetNs.toString(),
    bootTime: new Date(Number(h.clockOffsetNs / 1_000_000n)).toISOString(),
    containerNameFormat: h.containerNameAsArray ? "array" : "string",
  };
}

/** Service-level call edges of the topology (DNS lookups included). */
export function topologyEdges(topology: Topology): ManifestEdge[] {
  const seen = new Set<string>();
  const edges: ManifestEdge[] = [];
  const add = (from: string, to: string, protocol: string): void => {
    const key = `${from}\0${to}\0${protocol}`;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push({ from, to, protocol });
  };
  const walk = (from: string, steps: Step[]): void => {
    for (const s of steps) {
      if (s.kind === "call") add(from, s.call.service, s.call.protocol);
      else if (s.kind === "parallel") for (const c of s.calls) add(from, c.service, c.protocol);
      else if (s.kind === "each-item") walk(from, s.body);
      else if (s.kind === "cache-aside") {
        add(from, s.cache, "Redis");
        add(from, s.db, "MySQL");
      }
    }
  };
  for (const e of topology.entries) add("load-generator", e.service, "HTTP1");
  for (const s of topology.services) {
    for (const op of Object.values(s.operations)) walk(s.name, op.steps);
  }
  for (const from of new Set(edges.filter((e) => e.from !== "load-generator").map((e) => e.from))) {
    add(from, "dns-resolver", "DNS");
  }
  return edges;
}

function instanceEntry(p: Process): ManifestInstance {
  const name = p.docker?.container_name ?? null;
  return {
    agent: p.host.agent,
    tgid: p.tgid,
    comm: p.comm,
    ip: p.ip,
    port: p.port,
    containerName: Array.isArray(name) ? (name[0] ?? null) : name,
  };
}

export function buildManifest(
  sim: Simulation,
  files = { spans: "spans.ndjson", groundTruth: "ground-truth.ndjson" },
): WorkloadManifest {
  const t = sim.topology;
  return {
    generator: { name: "deeptrace-workload", formatVersion: 1 },
    parameters: sim.options,
    startWallNs: sim.startWallNs.toString(),
    agents: sim.hosts.map(agentEntry),
    topology: {
      name: t.name,
      description: t.description,
      services: t.services.map((s) => ({
        name: s.name,
        kind: s.kind,
        language: s.language,
        threadModel: threadModelOf(s.language),
        port: s.port,
        operations: Object.fromEntries(
          Object.entries(s.operations).map(([k, op]) => [k, { method: op.method, path: op.path }]),
        ),
        instances: sim.processes.filter((p) => p.service === s).map(instanceEntry),
      })),
      entries: t.entries.map((e) => ({ ...e })),
      edges: topologyEdges(t),
    },
    files,
    stats: sim.stats,
  };
}
