import type { BulkWriter } from "@deeptrace/shared/elastic/bulk-writer";
import { serializeDocument } from "@deeptrace/shared/elastic/bulk-writer";
import { headers, type JetStreamClient } from "nats";

export interface DeadLetterOptions {
  subject: string;
  index: string;
  /** Bytes of the payload copied into the index record. */
  payloadBytes: number;
}

/** A stream message that will not be delivered again. */
export interface UndeliverableMessage {
  stream: string;
  streamSequence: number;
  subject: string;
  data: Uint8Array;
  /** Deliveries it had. */
  deliveries: number;
}

/** Why a message was given up, and what is known about it. */
export interface DeadLetterReason {
  reason: string;
  /** Window id, when the message decoded far enough to have one. */
  windowId?: string;
}

/**
 * Moves a message that exhausted its deliveries aside: the whole message to the dead-letter
 * subject (de-duplicated by its stream sequence, with the reason in headers) and a record
 * with the reason and the start of the payload to the dead-letter index (id from the stream
 * sequence, so a repeat overwrites). Throws when either could not be stored.
 */
export class DeadLetters {
  constructor(
    private readonly js: JetStreamClient,
    private readonly writer: BulkWriter,
    private readonly options: DeadLetterOptions,
  ) {}

  async record(
    msg: UndeliverableMessage,
    why: DeadLetterReason,
    signal?: AbortSignal,
  ): Promise<void> {
    const { streamSequence, stream, deliveries } = msg;
    const h = headers();
    h.set("Deeptrace-Dead-Letter-Reason", why.reason.slice(0, 1024).replace(/[\r\n]+/g, " "));
    h.set("Deeptrace-Original-Subject", msg.subject);
    h.set("Deeptrace-Original-Sequence", String(streamSequence));
    h.set("Deeptrace-Deliveries", String(deliveries));
    if (why.windowId) h.set("Deeptrace-Window-Id", why.windowId);
    await this.js.publish(this.options.subject, msg.data, {
      headers: h,
      msgID: `dead-letter:${stream}:${streamSequence}`,
    });
    const kept = msg.data.subarray(0, this.options.payloadBytes);
    await this.writer.write(
      [
        {
          index: this.options.index,
          id: `msg:${stream}:${streamSequence}`,
          source: serializeDocument({
            kind: "window_message",
            reason: why.reason,
            window_id: why.windowId ?? "",
            subject: msg.subject,
            stream_sequence: streamSequence,
            delivery_count: deliveries,
            payload: Buffer.from(kept).toString("base64"),
            payload_encoding: "base64",
            payload_bytes: msg.data.length,
            payload_truncated: kept.length < msg.data.length,
            recorded_at: new Date().toISOString(),
          }),
        },
      ],
      signal,
    );
  }
}
