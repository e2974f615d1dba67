import { indexForAgent } from "./ground-truth.js";
import type { Rng } from "./rng.js";

/**
 * A simulated host with its own eBPF agent. Its kernel monotonic clock started at boot,
 * so every host's span times are on a different clock:
 *
 *   monotonic(t) = uptimeAtStartNs + t        (t = simulated ns since the run started)
 *   wall         = monotonic + clockOffsetNs  (clockOffsetNs = boot time on the wall clock)
 */
export interface Host {
  position: number;
  agent: string;
  index: string;
  hostname: string;
  ip: string;
  /** Monotonic clock value when the simulation starts (time since boot). */
  uptimeAtStartNs: number;
  /** True offset: wall clock minus monotonic clock, in ns (the boot time). */
  clockOffsetNs: bigint;
  /** Offset as an operator's measurement would record it (true offset plus error). */
  recordedClockOffsetNs: bigint;
  /** The agent version on this host writes container_name as the Docker API's array. */
  containerNameAsArray: boolean;
  /** Next kernel pid (tgids and thread ids share one counter per host). */
  nextPid: number;
  /** Documents written by this host's agent so far. */
  documents: number;
}

const HOUR_NS = 3_600_000_000_000;
const DAY_NS = 24 * HOUR_NS;

export function createHosts(
  count: number,
  startWallNs: bigint,
  clockOffsetErrorUs: number,
  rng: Rng,
): Host[] {
  const hosts: Host[] = [];
  const used = new Set<number>();
  for (let i = 0; i < count; i++) {
    // Between 2 hours and 40 days of uptime; distinct by construction.
    let uptime = Math.round(2 * HOUR_NS + rng.next() * 40 * DAY_NS);
    while (used.has(uptime)) uptime += 1_000_003;
    used.add(uptime);
    const clockOffsetNs = startWallNs - BigInt(uptime);
    const errorNs = Math.round(rng.uniform(-clockOffsetErrorUs, clockOffsetErrorUs) * 1000);
    const agent = `node${i + 1}`;
    hosts.push({
      position: i,
      agent,
      index: indexForAgent(agent),
      hostname: `node${i + 1}.cluster.local`,
      ip: `192.168.10.${11 + i}`,
      uptimeAtStartNs: uptime,
      clockOffsetNs,
      recordedClockOffsetNs: clockOffsetNs + BigInt(errorNs),
      containerNameAsArray: i % 2 === 1,
      nextPid: rng.int(900, 40_000),
      documents: 0,
    });
  }
  return hosts;
}

/** Allocates a kernel pid on the host (Linux hands out pids and tids from one counter). */
export function allocatePid(host: Host): number {
  const pid = host.nextPid;
  host.nextPid += 1;
  if (host.nextPid > 4_194_304) host.nextPid = 300;
  return pid;
}

/** The host's monotonic clock at simulated time t. */
export function monotonic(host: Host, t: number): number {
  return host.uptimeAtStartNs + t;
}
