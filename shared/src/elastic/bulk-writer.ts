import { setTimeout as sleep } from "node:timers/promises";
import { type Client, errors } from "@elastic/elasticsearch";
import {
  type BulkEntries,
  batchEntries,
  encodeEntries,
  entriesBody,
  entrySource,
  isBulkEntries,
} from "./bulk-entries.js";
import { RequestSlots } from "./request-slots.js";

/** One document to index under a deterministic id, already serialised (see `serializeDocument`). */
export interface BulkDocument {
  index: string;
  id: string;
  /** The JSON source. */
  source: string;
  /**
   * External version (`version_type: external_gte`): the write is refused when the stored
   * document has a higher version, and the document counts as superseded, not failed.
   */
  version?: number;
}

/** What became of one bulk item. */
export type ItemVerdict = "written" | "superseded" | "retry" | "reject";

/** A bulk item Elasticsearch did not store, with its reason. */
export interface ItemFailure {
  /** Position in the request. */
  position: number;
  status: number;
  type: string;
  reason: string;
}

/** A document Elasticsearch refused for good: its position in the write, and why. */
interface Rejection {
  position: number;
  failure: ItemFailure;
}

export interface BulkClassification {
  written: number[];
  /** Refused because the stored document has a higher external version. */
  superseded: number[];
  retry: ItemFailure[];
  reject: ItemFailure[];
}

/** The parts of a bulk response item this module reads. */
export interface BulkResponseItem {
  status?: number;
  _id?: string | null;
  error?: { type?: string; reason?: string | null } | null;
}

export interface BulkWriteResult {
  written: number;
  /** Versioned documents not written because a higher version is stored. */
  superseded: number;
  /** Permanently rejected documents, stored in the dead-letter index with their reason. */
  deadLettered: number;
  /** Bulk requests (or parts of them) sent again after a 429 or transient error. */
  retries: number;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export interface BulkWriterOptions {
  /** Index that receives documents Elasticsearch rejects permanently. */
  deadLetterIndex: string;
  maxDocuments: number;
  maxBytes: number;
  /**
   * Bulk requests in flight at once over every `write` of this writer: windows written at
   * the same time queue for these slots in the order they asked, instead of each sending its
   * own `concurrency` requests (more requests in flight made Elasticsearch slower, not faster).
   */
  concurrency: number;
  backoff: BackoffOptions;
  /** How long one `write` keeps retrying transient failures before it fails. */
  deadlineMs: number;
  /** Told about every retry (metrics, logs). */
  onRetry?: (info: { attempt: number; delayMs: number; cause: string; documents: number }) => void;
  /** Refresh the written indices before `write` resolves (tests, benchmarks). */
  refresh?: boolean;
}

/** `write` could not store every document: nothing it wrote may be acknowledged upstream. */
export class BulkWriteError extends Error {
  constructor(
    message: string,
    /** True when retrying later can succeed (Elasticsearch unavailable, deadline reached). */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "BulkWriteError";
  }
}

/** Serialises a document for a bulk body; bigints become decimal strings (exact, accepted by `long`). */
export function serializeDocument(document: unknown): string {
  return JSON.stringify(document, (_key, value) =>
    typeof value === "bigint" ? value.toString() : value,
  );
}

/**
 * 2xx is stored; a version conflict means a newer version is stored; 429 and 5xx may
 * succeed later; any other status never will.
 */
export function classifyStatus(status: number, type?: string): ItemVerdict {
  if (status >= 200 && status < 300) return "written";
  if (status === 409 && type === "version_conflict_engine_exception") return "superseded";
  if (status === 429 || status >= 500) return "retry";
  return "reject";
}

/**
 * Sorts every item of a bulk response by its status. An item that is missing, or whose id
 * is not the one sent, counts as a retry: a document is never assumed written.
 */
export function classifyBulkItems(
  items: ReadonlyArray<Record<string, BulkResponseItem>>,
  sentIds: readonly string[],
): BulkClassification {
  const result: BulkClassification = { written: [], superseded: [], retry: [], reject: [] };
  for (const [position, id] of sentIds.entries()) {
    const entry = items[position];
    const item = entry ? Object.values(entry)[0] : undefined;
    if (!item || typeof item.status !== "number") {
      result.retry.push({ position, status: 0, type: "missing_item", reason: "no item status" });
      continue;
    }
    if (item._id !== undefined && item._id !== null && item._id !== id) {
      result.retry.push({
        position,
        status: item.status,
        type: "id_mismatch",
        reason: `item reports _id ${item._id}, sent ${id}`,
      });
      continue;
    }
    const verdict = classifyStatus(item.status, item.error?.type);
    if (verdict === "written" || verdict === "superseded") {
      result[verdict].push(position);
    } else {
      result[verdict].push({
        position,
        status: item.status,
        type: item.error?.type ?? "unknown",
        reason: item.error?.reason ?? `status ${item.status}`,
      });
    }
  }
  return result;
}

/** Exponential back-off with full jitter: uniform in [0, min(max, initial * 2^attempt)]. */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}

/** Whether a failed bulk request as a whole may succeed when sent again. */
export function isTransientRequestError(error: unknown): boolean {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    return status === 429 || status >= 500;
  }
  return (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  );
}

/**
 * Writes documents with the bulk API and reads every item's status: 429 and transient
 * failures (5xx, connection errors, timeouts) are sent again with exponential back-off and
 * jitter until the deadline; permanent rejections (mapping errors and other 4xx) go to the
 * dead-letter index with their reason. `write` resolves only when every document is either
 * stored or dead-lettered, and throws otherwise.
 */
export class BulkWriter {
  private readonly slots: RequestSlots;

  constructor(
    private readonly client: Client,
    private readonly options: BulkWriterOptions,
  ) {
    this.slots = new RequestSlots(options.concurrency);
  }

  /** Writes documents, as they are or already encoded (`encodeEntries`, e.g. on another thread). */
  async write(
    documents: readonly BulkDocument[] | BulkEntries,
    signal?: AbortSignal,
  ): Promise<BulkWriteResult> {
    const entries = isBulkEntries(documents) ? documents : encodeEntries(documents);
    const total: BulkWriteResult = { written: 0, superseded: 0, deadLettered: 0, retries: 0 };
    const deadline = Date.now() + this.options.deadlineMs;
    const batches = batchEntries(entries, this.options.maxDocuments, this.options.maxBytes);
    const rejected: Rejection[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++] as number[];
        const outcome = await this.writeBatch(entries, batch, deadline, signal);
        total.written += outcome.written;
        total.superseded += outcome.superseded;
        total.retries += outcome.retries;
        rejected.push(...outcome.rejected);
      }
    };
    const workers = Math.min(this.options.concurrency, batches.length);
    await Promise.all(Array.from({ length: workers }, worker));
    if (rejected.length > 0) {
      const letters = encodeEntries(
        rejected.map(({ position, failure }) =>
          deadLetterForRejection(
            this.options.deadLetterIndex,
            {
              index: entries.indices[position] as string,
              id: entries.ids[position] as string,
              source: entrySource(entries, position),
            },
            failure,
          ),
        ),
      );
      for (const batch of batchEntries(letters, this.options.maxDocuments, this.options.maxBytes)) {
        const outcome = await this.writeBatch(letters, batch, deadline, signal);
        total.retries += outcome.retries;
        if (outcome.rejected.length > 0) {
          const first = outcome.rejected[0] as Rejection;
          throw new BulkWriteError(
            `the dead-letter index rejected ${outcome.rejected.length} record(s): ${first.failure.type}: ${first.failure.reason}`,
            false,
          );
        }
        total.deadLettered += outcome.written;
      }
    }
    return total;
  }

  /**
   * Sends one other request a write depends on (a read of what is stored, a delete) under
   * the same policy: transient failures are retried with back-off until the deadline (as
   * `BulkWriteError`, transient), anything else is thrown as it is.
   */
  async retrying<T>(
    what: string,
    send: (signal?: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const deadline = Date.now() + this.options.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new BulkWriteError(`${what} aborted (shutting down)`, true);
      let cause: string;
      try {
        return await send(signal);
      } catch (error) {
        if (error instanceof errors.RequestAbortedError || signal?.aborted) {
          throw new BulkWriteError(`${what} aborted (shutting down)`, true);
        }
        if (!isTransientRequestError(error)) throw error;
        cause = `${what} failed: ${(error as Error).message}`;
      }
      const delayMs = backoffDelayMs(attempt, this.options.backoff);
      if (Date.now() + delayMs > deadline) {
        throw new BulkWriteError(`gave up after ${attempt + 1} attempt(s): ${cause}`, true);
      }
      this.options.onRetry?.({ attempt, delayMs, cause, documents: 0 });
      try {
        await sleep(delayMs, undefined, signal ? { signal } : undefined);
      } catch {
        throw new BulkWriteError(`${what} aborted (shutting down)`, true);
      }
    }
  }

  /** Writes the documents at `batch` (positions in `entries`), retrying those that may succeed later. */
  private async writeBatch(
    entries: BulkEntries,
    batch: number[],
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<{ written: number; superseded: number; retries: number; rejected: Rejection[] }> {
    let pending = batch;
    let written = 0;
    let superseded = 0;
    let retries = 0;
    const rejected: Rejection[] = [];
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new BulkWriteError("bulk write aborted (shutting down)", true);
      let cause: string;
      let release: (() => void) | undefined;
      try {
        // A slot per attempt: a batch waiting out its back-off holds none.
        release = await this.slots.acquire(signal);
        const response = await this.client.transport.request<{
          items?: Array<Record<string, BulkResponseItem>>;
        }>(
          {
            method: "POST",
            path: "/_bulk",
            querystring: {
              filter_path: "items.*.status,items.*._id,items.*.error.type,items.*.error.reason",
              ...(this.options.refresh ? { refresh: "true" } : {}),
            },
            bulkBody: entriesBody(entries, pending),
          },
          { signal },
        );
        release();
        const verdicts = classifyBulkItems(
          response.items ?? [],
          pending.map((p) => entries.ids[p] as string),
        );
        written += verdicts.written.length;
        superseded += verdicts.superseded.length;
        for (const failure of verdicts.reject) {
          rejected.push({ position: pending[failure.position] as number, failure });
        }
        if (verdicts.retry.length === 0) return { written, superseded, retries, rejected };
        const first = verdicts.retry[0] as ItemFailure;
        cause = `${verdicts.retry.length} item(s) failed with ${first.status} ${first.type}: ${first.reason}`;
        pending = verdicts.retry.map((f) => pending[f.position] as number);
      } catch (error) {
        release?.();
        if (error instanceof errors.RequestAbortedError || signal?.aborted) {
          throw new BulkWriteError("bulk write aborted (shutting down)", true);
        }
        if (!isTransientRequestError(error)) {
          throw new BulkWriteError(`bulk request failed: ${(error as Error).message}`, false);
        }
        cause = `bulk request failed: ${(error as Error).message}`;
      }
      const delayMs = backoffDelayMs(attempt, this.options.backoff);
      if (Date.now() + delayMs > deadline) {
        throw new BulkWriteError(
          `gave up after ${attempt + 1} attempt(s), ${pending.length} document(s) not stored: ${cause}`,
          true,
        );
      }
      retries++;
      this.options.onRetry?.({ attempt, delayMs, cause, documents: pending.length });
      try {
        await sleep(delayMs, undefined, signal ? { signal } : undefined);
      } catch {
        throw new BulkWriteError("bulk write aborted (shutting down)", true);
      }
    }
  }
}

/** The dead-letter record of a rejected document; its id makes a repeated rejection overwrite. */
export function deadLetterForRejection(
  deadLetterIndex: string,
  document: BulkDocument,
  failure: ItemFailure,
): BulkDocument {
  return {
    index: deadLetterIndex,
    id: `doc:${document.index}:${document.id}`,
    source: serializeDocument({
      kind: "rejected_document",
      reason: `${failure.type}: ${failure.reason}`,
      status: failure.status,
      target_index: document.index,
      target_id: document.id,
      payload: document.source,
      payload_bytes: Buffer.byteLength(document.source),
      payload_truncated: false,
      recorded_at: new Date().toISOString(),
    }),
  };
}
