import type { AuditRecord, AuditSink } from "@deeptrace/shared/grpc/audit";
import type { Logger } from "@deeptrace/shared/logging/logger";
import type { Client } from "@elastic/elasticsearch";
import { ensureIndex } from "./ensure-index.js";

const MAPPINGS = {
  dynamic: "strict",
  properties: {
    at: { type: "date" },
    service: { type: "keyword" },
    method: { type: "keyword" },
    principal: { type: "keyword" },
    role: { type: "keyword" },
    peer: { type: "keyword" },
    outcome: { type: "keyword" },
    durationMs: { type: "long" },
    target: { type: "keyword" },
  },
};

/**
 * Audit records go to the log at once and to `<prefix>-audit` in Elasticsearch. Writes that
 * fail are logged with the record (which holds no request payload), never dropped silently.
 */
export class AuditIndex {
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly client: Client,
    readonly index: string,
    private readonly logger: Logger,
  ) {}

  async init(): Promise<void> {
    await ensureIndex(this.client, this.index, MAPPINGS);
  }

  readonly sink: AuditSink = (record: AuditRecord) => {
    this.logger.info({ audit: record }, "audit");
    const write = this.client
      .index({ index: this.index, document: record })
      .catch((error: Error) =>
        this.logger.error(
          { audit: record, err: error.message },
          "audit record not stored in Elasticsearch",
        ),
      )
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  };

  /** Waits for audit writes in flight (on shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}
