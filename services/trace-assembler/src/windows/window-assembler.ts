import { Worker } from "node:worker_threads";
import type { BulkEntries } from "@deeptrace/shared/elastic/bulk-entries";
import type { TraceIndices } from "@deeptrace/shared/elastic/index-templates";
import { InvalidWindowError, type WindowSettings, type WindowSummary } from "./window-processor.js";

export interface AssembleRequest {
  id: number;
  data: Uint8Array;
}

export type AssembleReply =
  | {
      id: number;
      ok: true;
      window: { startNs: bigint; endNs: bigint };
      /** The window's documents as bulk entries, in a buffer the worker handed over. */
      documents: BulkEntries;
      summary: WindowSummary;
    }
  | { id: number; ok: false; name: string; message: string };

export type AssembledMessage = Extract<AssembleReply, { ok: true }>;

/**
 * Young generation of the worker's heap (twice V8's default). A window allocates its spans,
 * links and documents and drops them when it is done; a larger nursery lets more of that die
 * before a scavenge would copy it, about 5% less CPU per window on the assembler benchmark's
 * windows.
 */
const YOUNG_GENERATION_MB = 96;

/**
 * Decodes and assembles windows on one worker thread, one after the other. The engine is
 * synchronous CPU work of about a second per window: on the main thread it held up the
 * bulk responses of the other window in hand, and Elasticsearch waited. A failure of the
 * worker itself fails the windows it held (they are nacked) and the next window starts a
 * new worker.
 */
export class WindowAssembler {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (reply: AssembledMessage) => void; reject: (error: Error) => void }
  >();

  constructor(
    private readonly indices: TraceIndices,
    private readonly settings: WindowSettings,
  ) {}

  /**
   * Starts the worker ahead of the first window, so that window does not also wait for the
   * worker to load the engine.
   */
  start(): void {
    this.ensureWorker();
  }

  assemble(data: Uint8Array): Promise<AssembledMessage> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, data } satisfies AssembleRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("./assemble-worker.js", import.meta.url), {
      workerData: { indices: this.indices, settings: this.settings },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    worker.on("message", (reply: AssembleReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.ok) {
        waiting.resolve(reply);
      } else {
        const error =
          reply.name === "InvalidWindowError"
            ? new InvalidWindowError(reply.message)
            : Object.assign(new Error(reply.message), { name: reply.name });
        waiting.reject(error);
      }
    });
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on("error", (error) => failAll(error));
    worker.on("exit", (code) => failAll(new Error(`the assemble worker exited with ${code}`)));
    this.worker = worker;
    return worker;
  }
}
