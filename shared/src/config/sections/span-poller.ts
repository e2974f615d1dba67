import { z } from "zod";
import { type ConfigFields, serviceKeys } from "../fields.js";

/**
 * A clock offset in nanoseconds (wall clock minus monotonic clock). Real offsets are near
 * 1.7e18 and exceed the doubles TOML numbers become, so they are written as digit strings;
 * small offsets may be plain integers. Kept as a decimal string (the effective
 * configuration is printed as JSON); the poller reads it with BigInt().
 */
const offsetNs = z.union([
  z.string().regex(/^-?\d+$/, "expected an integer number of nanoseconds as a string"),
  z
    .number()
    .int()
    .refine(Number.isSafeInteger, "offsets beyond 2^53 must be written as strings")
    .transform((n) => String(n)),
]);

/** `[span_poller]`: reads agent span indices and publishes windows. */
export function spanPollerSection(f: ConfigFields) {
  return z.strictObject({
    ...serviceKeys(f, 50052, 9462),
    /**
     * Longest window [t0, t1) in event time. Windows get shorter when a message would not
     * fit under the NATS server's max_payload (or max_message_bytes).
     */
    window_ms: f.positiveMs.default(5_000),
    /**
     * Context margin L on each side of a window: bounds trace duration plus clock skew.
     * A window is published once the watermark passes t1 + L.
     */
    margin_ms: f.positiveMs.default(5_000),
    /**
     * How far behind the newest span of an agent its older spans may still arrive. The
     * watermark is the max event time seen minus this.
     */
    allowed_lateness_ms: f.positiveMs.default(5_000),
    /**
     * How long an indexed document may stay invisible to search (Elasticsearch refresh
     * interval): a caught-up agent counts as complete only up to read time minus this.
     */
    refresh_margin_ms: f.positiveMs.default(1_000),
    /** Pause between polls of an agent index that was caught up. */
    poll_interval_ms: f.positiveMs.default(1_000),
    /** Documents per search page (point in time + search_after). */
    page_size: z.number().int().min(1).max(10_000).default(1_000),
    /** Pages read from one agent before the next agent gets its turn. */
    max_pages_per_poll: z.number().int().positive().default(20),
    /** Where reading starts when there is no stored state: the oldest span, or now. */
    start_from: z.enum(["earliest", "now"]).default("earliest"),
    /**
     * Upper bound for a window message; the server's max_payload applies when lower. New
     * windows end early to fit; a repaired or replayed window that outgrew it goes out in
     * pieces; a single span larger than it is left out (logged and counted).
     */
    max_message_bytes: z.number().int().positive().optional(),
    /** Published windows younger than this (event time) are checked for late spans. */
    repair_horizon_ms: f.positiveMs.default(600_000),
    /** How often recent windows are counted again to find late spans. */
    repair_interval_ms: f.positiveMs.default(5_000),
    /**
     * Back-off ceiling for retried Elasticsearch and NATS errors, including connecting to
     * NATS and creating the windows stream at start (the service stays up, not ready).
     */
    max_backoff_ms: f.positiveMs.default(30_000),
    /** How often the agent inventory is re-read (new and removed agents). */
    inventory_refresh_ms: f.positiveMs.default(15_000),
    /**
     * host:port of the agent-manager gRPC API (ListAgents). Without it, or until it first
     * answers, the `[[agents]]` list of this file is the inventory.
     */
    agent_manager_address: z.string().min(1).optional(),
    agent_manager_token: f.secret.optional(),
    /** CA bundle when the agent-manager serves TLS. */
    agent_manager_ca_file: z.string().min(1).optional(),
    /**
     * Clock offsets (wall minus monotonic, ns) of `[[agents]]` entries, by agent name;
     * agents not listed use 0. The agent-manager's measured offsets take precedence.
     */
    clock_offsets_ns: z.record(z.string(), offsetNs).default({}),
  });
}
