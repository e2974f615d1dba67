import { TOPOLOGY_NAMES, type TopologyName } from "./topology.js";

/** Parameters of a generated workload. Every field has a default (see DEFAULT_OPTIONS). */
export interface WorkloadOptions {
  topology: TopologyName;
  /**
   * Requests in flight. Without `rate` this is a closed loop: that many clients, each
   * sending its next request as soon as the previous one returned (after `thinkTimeUs`).
   * With `rate` it is the cap on requests in flight; arrivals beyond it wait for a slot.
   */
  concurrency: number;
  /** Open-loop Poisson arrival rate in requests per second; null for a closed loop. */
  rate: number | null;
  /** Stop sending after this many requests (null: no limit). */
  requests: number | null;
  /** Stop sending after this much simulated time in seconds (null: no limit). */
  durationSec: number | null;
  seed: number | string;
  /** Hosts, one agent each, with different boot times. */
  hosts: number;
  /**
   * Requests carry transaction fields (ids and arguments such as `?order_id=123` or JSON
   * bodies) that propagate to downstream calls, Redis keys and SQL. Off: generic payloads.
   */
  transactionFields: boolean;
  /** HTTP requests carry the X-Request-Id header (the request's ground-truth id). */
  requestIdHeader: boolean;
  /** Instances of every HTTP service, spread over the hosts. */
  replicas: number;
  /** Idle keep-alive connections a process keeps per target instance; more are closed. */
  maxIdlePerTarget: number;
  /** Closed loop: pause of a client between two requests, in microseconds (exponential mean). */
  thinkTimeUs: number;
  /** Wall clock at the start of the simulation (ISO 8601). */
  startTime: string;
  /** Median one-way network latency between two hosts, in microseconds. */
  networkLatencyUs: number;
  /** Largest error of the clock offsets recorded in the manifest, in microseconds. */
  clockOffsetErrorUs: number;
  /** Health-check interval per HTTP instance in milliseconds (single-span noise); 0 = none. */
  healthCheckIntervalMs: number;
  /** Largest payload the agent captures per direction; longer content is truncated. */
  maxPayloadBytes: number;
}

export const DEFAULT_OPTIONS: Readonly<WorkloadOptions> = {
  topology: "mixed",
  concurrency: 50,
  rate: null,
  requests: 1000,
  durationSec: null,
  seed: 1,
  hosts: 3,
  transactionFields: true,
  requestIdHeader: true,
  replicas: 1,
  maxIdlePerTarget: 64,
  thinkTimeUs: 0,
  startTime: "2025-05-15T05:13:36.000Z",
  networkLatencyUs: 150,
  clockOffsetErrorUs: 0,
  healthCheckIntervalMs: 1000,
  maxPayloadBytes: 1024,
};

/** An invalid option, named so a CLI can point at the flag. */
export class WorkloadOptionError extends Error {
  constructor(
    readonly option: keyof WorkloadOptions,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = "WorkloadOptionError";
  }
}

function integerIn(option: keyof WorkloadOptions, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new WorkloadOptionError(option, `must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function numberIn(option: keyof WorkloadOptions, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new WorkloadOptionError(option, `must be a number in [${min}, ${max}], got ${value}`);
  }
}

/** Fills defaults and validates. When neither requests nor durationSec is set, 1000 requests. */
export function resolveOptions(partial: Partial<WorkloadOptions> = {}): WorkloadOptions {
  const o: WorkloadOptions = { ...DEFAULT_OPTIONS, ...partial };
  if (partial.durationSec != null && partial.requests === undefined) o.requests = null;
  if (!TOPOLOGY_NAMES.includes(o.topology)) {
    throw new WorkloadOptionError(
      "topology",
      `must be one of ${TOPOLOGY_NAMES.join(", ")}, got ${String(o.topology)}`,
    );
  }
  integerIn("concurrency", o.concurrency, 1, 1_000_000);
  if (o.rate !== null) numberIn("rate", o.rate, 0.001, 10_000_000);
  if (o.requests !== null) integerIn("requests", o.requests, 1, 1_000_000_000);
  if (o.durationSec !== null) numberIn("durationSec", o.durationSec, 0.000001, 86_400 * 30);
  if (o.requests === null && o.durationSec === null) {
    throw new WorkloadOptionError("requests", "set a request count or a duration");
  }
  if (typeof o.seed === "number") {
    if (!Number.isSafeInteger(o.seed))
      throw new WorkloadOptionError("seed", `must be an integer, got ${o.seed}`);
  } else if (typeof o.seed !== "string" || o.seed.length === 0) {
    throw new WorkloadOptionError("seed", "must be an integer or a non-empty string");
  }
  integerIn("hosts", o.hosts, 1, 200);
  integerIn("replicas", o.replicas, 1, 64);
  integerIn("maxIdlePerTarget", o.maxIdlePerTarget, 0, 100_000);
  numberIn("thinkTimeUs", o.thinkTimeUs, 0, 3_600_000_000);
  if (Number.isNaN(Date.parse(o.startTime))) {
    throw new WorkloadOptionError("startTime", `must be an ISO 8601 date, got ${o.startTime}`);
  }
  numberIn("networkLatencyUs", o.networkLatencyUs, 1, 1_000_000);
  numberIn("clockOffsetErrorUs", o.clockOffsetErrorUs, 0, 10_000_000);
  numberIn("healthCheckIntervalMs", o.healthCheckIntervalMs, 0, 3_600_000);
  integerIn("maxPayloadBytes", o.maxPayloadBytes, 64, 1_048_576);
  if (typeof o.transactionFields !== "boolean")
    throw new WorkloadOptionError("transactionFields", "must be a boolean");
  if (typeof o.requestIdHeader !== "boolean")
    throw new WorkloadOptionError("requestIdHeader", "must be a boolean");
  return o;
}
