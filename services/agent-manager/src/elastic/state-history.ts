import type { Logger } from "@deeptrace/shared/logging/logger";
import type { Client } from "@elastic/elasticsearch";
import type { StateChange } from "../health/state-change.js";
import { ensureIndex } from "./ensure-index.js";

const MAPPINGS = {
  dynamic: "strict",
  properties: {
    agent: { type: "keyword" },
    previous_state: { type: "keyword" },
    state: { type: "keyword" },
    reason: { type: "text" },
    changed_at: { type: "date_nanos" },
    changed_at_ns: { type: "keyword", index: false },
  },
};

/** Every state change of every agent, appended to `<prefix>-agent-state-history`. */
export class StateHistory {
  constructor(
    private readonly client: Client,
    readonly index: string,
    private readonly logger: Logger,
  ) {}

  async init(): Promise<void> {
    await ensureIndex(this.client, this.index, MAPPINGS);
  }

  record(change: StateChange): void {
    const ms = Number(change.changedAtNs / 1_000_000n);
    this.client
      .index({
        index: this.index,
        document: {
          agent: change.agent,
          previous_state: change.previousState,
          state: change.state,
          reason: change.reason,
          changed_at: new Date(ms).toISOString(),
          changed_at_ns: String(change.changedAtNs),
        },
      })
      .catch((error: Error) =>
        this.logger.warn({ agent: change.agent, err: error.message }, "state history write failed"),
      );
  }
}
