/**
 * The real NATS JetStream the integration tests run against: de-duplicated publishing,
 * a durable pull consumer with explicit acks, redelivery of what was not acked, and room
 * for large windows.
 */
import { randomBytes } from "node:crypto";
import {
  AckPolicy,
  type Consumer,
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  nanos,
} from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsUrl } from "../support/infrastructure.js";

const run = randomBytes(4).toString("hex");
const stream = `INFRA_${run}`;
const subject = `infra.${run}.windows`;
const durable = "assemblers";
const ACK_WAIT_MS = 2_000;
const encoder = new TextEncoder();

/**
 * Fetches up to `max` messages, waiting at most 1 s (less than the ack wait, so nothing
 * is redelivered within one fetch).
 */
async function fetchUpTo(consumer: Consumer, max: number): Promise<JsMsg[]> {
  const messages: JsMsg[] = [];
  for await (const message of await consumer.fetch({ max_messages: max, expires: 1_000 })) {
    messages.push(message);
  }
  return messages;
}

/** What the assertions compare: a JsMsg itself drags the whole connection into a diff. */
function summary(message: JsMsg | undefined): [number, boolean, number, number] | undefined {
  return (
    message && [message.seq, message.redelivered, message.info.redeliveryCount, message.data.length]
  );
}

describe("NATS JetStream", () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  let consumer: Consumer;

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl() });
    jsm = await nc.jetstreamManager();
    js = nc.jetstream();
    await jsm.streams.add({ name: stream, subjects: [subject], duplicate_window: nanos(60_000) });
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ACK_WAIT_MS),
      max_deliver: 5,
    });
    consumer = await js.consumers.get(stream, durable);
  });

  afterAll(async () => {
    await jsm?.streams.delete(stream).catch(() => undefined);
    await nc?.drain();
  });

  it("allows messages of several MiB", async () => {
    expect(nc.info?.max_payload).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(nc.info?.jetstream).toBe(true);
  });

  it("de-duplicates a re-publish with the same message id", async () => {
    const first = await js.publish(subject, encoder.encode("window 1"), { msgID: "w-1" });
    const again = await js.publish(subject, encoder.encode("window 1"), { msgID: "w-1" });
    const big = await js.publish(subject, new Uint8Array(4 * 1024 * 1024).fill(7), {
      msgID: "w-2",
    });

    expect([first.seq, first.duplicate]).toEqual([1, false]);
    expect([again.seq, again.duplicate]).toEqual([1, true]);
    expect([big.seq, big.duplicate]).toEqual([2, false]);
    expect((await jsm.streams.info(stream)).state.messages).toBe(2);
  });

  it("delivers to a durable pull consumer and never again once acked", async () => {
    const delivered = await fetchUpTo(consumer, 2);
    expect(delivered.map(summary)).toEqual([
      [1, false, 1, "window 1".length],
      [2, false, 1, 4 * 1024 * 1024],
    ]);
    for (const message of delivered) {
      expect(await message.ackAck()).toBe(true);
    }

    await new Promise((resolve) => setTimeout(resolve, ACK_WAIT_MS * 1.5));
    expect((await fetchUpTo(consumer, 10)).map(summary)).toEqual([]);
    const info = await consumer.info();
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(2);
  });

  it("redelivers a message whose ack never came", async () => {
    await js.publish(subject, encoder.encode("window 3"), { msgID: "w-3" });
    const first = await fetchUpTo(consumer, 10);
    expect(first.map(summary)).toEqual([[3, false, 1, "window 3".length]]);

    await new Promise((resolve) => setTimeout(resolve, ACK_WAIT_MS * 1.5));
    const again = await fetchUpTo(consumer, 10);
    expect(again.map(summary)).toEqual([[3, true, 2, "window 3".length]]);
    expect(await again[0]?.ackAck()).toBe(true);
    expect((await consumer.info()).num_ack_pending).toBe(0);
  });
});
