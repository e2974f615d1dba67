import {
  DiscardPolicy,
  type JetStreamManager,
  nanos,
  RetentionPolicy,
  type StreamInfo,
  StorageType,
} from "nats";
import type { Config } from "../config/schema.js";

/** How long JetStream remembers message ids, so a re-published window is de-duplicated. */
export const WINDOW_DUPLICATE_WINDOW_MS = 10 * 60_000;

/**
 * Creates the windows stream, or updates it to this definition; safe to call from every
 * poller and assembler at start. Windows are kept (limits retention) so they can be
 * inspected and replayed; the shared durable consumer tracks what was processed. The
 * dead-letter subject is captured in the same stream so nothing that failed is lost.
 */
export async function ensureWindowStream(jsm: JetStreamManager, config: Config): Promise<StreamInfo> {
  const { stream, subject, dead_letter_subject } = config.nats;
  const definition = {
    name: stream,
    subjects: [subject, dead_letter_subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(7 * 24 * 3600_000),
    duplicate_window: nanos(WINDOW_DUPLICATE_WINDOW_MS),
  };
  try {
    const existing = await jsm.streams.info(stream);
    return await jsm.streams.update(stream, { ...existing.config, ...definition });
  } catch (error) {
    if (!/stream not found/i.test((error as Error).message)) throw error;
    return jsm.streams.add(definition);
  }
}
