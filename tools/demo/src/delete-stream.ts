import { connect } from "nats";

/** Deletes a JetStream stream (and its consumers) if it exists, freeing its reserved storage. */
export async function deleteStream(natsUrl: string, stream: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch((error: Error) => {
      if (!/stream not found/i.test(error.message)) throw error;
    });
  } finally {
    await nc.close();
  }
}
