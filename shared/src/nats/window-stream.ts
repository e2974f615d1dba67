import {
  DiscardPolicy,
  type JetStreamManager,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from "nats";
import type { Config } from "../config/schema.js";

/** How long JetStream remembers message ids, so a re-published window is de-duplicated. */
export const WINDOW_DUPLICATE_WINDOW_MS = 10 * 60_000;

/**
 * Creates the windows stream, or updates it to this definition; safe to call from every
 * poller and assembler at start. Work-queue retention removes a window once an assembler
 * acked it; `DiscardPolicy.New` makes a full stream reject publishes instead of dropping
 * unprocessed windows, so the poller feels back-pressure and nothing is lost. Dead letters
 * are captured in the same stream (consumers filter by subject) and stay until read.
 */
export async function ensureWindowStream(
  jsm: JetStreamManager,
  config: Config,
): Promise<StreamInfo> {
  const { stream, subject, dead_letter_subject } = config.nats;
  const definition = {
    name: stream,
    subjects: [subject, dead_letter_subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_bytes: config.nats.stream_max_bytes,
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
