import { z } from "zod";
import { type ConfigFields, serviceKeys } from "../fields.js";

/** `[trace_assembler]`: consumes windows, writes traces, serves queries. */
export function traceAssemblerSection(f: ConfigFields) {
  return z.strictObject({
    ...serviceKeys(f, 50053, 9463),
    /** Intra-component link algorithm: the DeepTrace scorer or the FIFO baseline. */
    algorithm: z.enum(["deeptrace", "fifo"]).default("deeptrace"),
    /** Link through propagated ids (X-Request-Id, traceparent...) when present. */
    use_observed_ids: z.boolean().default(false),
    /** Windows one instance processes at the same time (overlaps engine work and writes). */
    concurrency: z.number().int().min(1).max(64).default(2),
    /**
     * How long one pull request of the long-lived consumer waits on the server before the
     * client renews it; the server's idle heartbeats come every half of it.
     */
    fetch_expires_ms: f.positiveMs.min(1_000).default(5_000),
    /** Interval of in-progress acks while a window is processed; keep well below nats.ack_wait_ms. */
    in_progress_interval_ms: f.positiveMs.default(10_000),
    /** Delay before a failed window is redelivered. */
    nak_delay_ms: z.number().int().min(0).default(2_000),
    /** Documents per bulk request. */
    bulk_documents: z.number().int().positive().default(2_000),
    /** Upper bound of one bulk request body; a batch is cut when it is reached. */
    bulk_max_bytes: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /**
     * Bulk requests this instance has in flight at once, over all windows in hand (windows
     * queue for them in the order they started writing).
     */
    bulk_concurrency: z.number().int().min(1).max(16).default(2),
    /** First back-off after a 429 or transient error; doubles per attempt, with full jitter. */
    retry_initial_ms: f.positiveMs.default(200),
    /** Largest single back-off. */
    retry_max_ms: f.positiveMs.default(10_000),
    /**
     * How long a window keeps retrying transient Elasticsearch errors (while it sends
     * in-progress acks) before it gives up and is redelivered; an outage shorter than this
     * costs no delivery attempt.
     */
    retry_deadline_ms: f.positiveMs.default(300_000),
    /** Bytes of a dead-lettered message kept in the dead-letter index (the subject keeps all). */
    dead_letter_payload_bytes: z
      .number()
      .int()
      .min(0)
      .default(256 * 1024),
    /** Largest page of SearchTraces. */
    max_page_size: z.number().int().positive().max(10_000).default(500),
  });
}
