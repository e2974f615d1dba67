/**
 * Worker thread entry: decodes a window message and runs the engine over it, so the main
 * thread's event loop stays free for NATS and Elasticsearch while a window is assembled.
 */
import { parentPort, type TransferListItem, workerData } from "node:worker_threads";
import { encodeEntries } from "@deeptrace/shared/elastic/bulk-entries";
import type { TraceIndices } from "@deeptrace/shared/elastic/index-templates";
import type { AssembleReply, AssembleRequest } from "./window-assembler.js";
import { assembleWindow, decodeWindow, type WindowSettings } from "./window-processor.js";

const { indices, settings } = workerData as { indices: TraceIndices; settings: WindowSettings };

parentPort?.on("message", ({ id, data }: AssembleRequest) => {
  let reply: AssembleReply;
  const transfer: TransferListItem[] = [];
  try {
    const window = decodeWindow(data);
    const assembled = assembleWindow(window, indices, settings);
    const documents = encodeEntries(assembled.documents);
    transfer.push(documents.bytes.buffer as ArrayBuffer, documents.ends.buffer as ArrayBuffer);
    reply = {
      id,
      ok: true,
      window: { startNs: window.startNs, endNs: window.endNs },
      documents,
      summary: assembled.summary,
    };
  } catch (error) {
    reply = {
      id,
      ok: false,
      name: (error as Error).name ?? "Error",
      message: (error as Error).message ?? String(error),
    };
  }
  parentPort?.postMessage(reply, transfer);
});
