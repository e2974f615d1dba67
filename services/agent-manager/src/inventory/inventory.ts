import { EventEmitter } from "node:events";
import type { Logger } from "@deeptrace/shared/logging/logger";
import type { RegistryStore } from "../elastic/registry-store.js";
import type { StateChange } from "../health/state-change.js";
import type { AgentRecord } from "./agent-record.js";
import { type AgentStateName, type AgentStatus, initialStatus, nowNs } from "./agent-status.js";
import { recordFromDocument, statusFromDocument, toRegistryDocument } from "./registry-document.js";

export interface InventoryEntry {
  agent: AgentRecord;
  status: AgentStatus;
}

export interface Selector {
  names: string[];
  labels: Record<string, string>;
}

export class UnknownAgentError extends Error {}
export class InventoryConflictError extends Error {}
/** Inventory changes need the registry; until Elasticsearch answered once they are refused. */
export class RegistryUnavailableError extends Error {}

/**
 * The agents the manager knows: the config-file seed plus agents registered at run time,
 * kept in memory and written through to the registry index. State changes are emitted as
 * "change" events (for WatchAgents and the state history).
 */
export class Inventory {
  readonly #entries = new Map<string, InventoryEntry>();
  readonly events = new EventEmitter<{ change: [StateChange] }>();
  #attached = false;
  readonly #writes = new Map<string, Promise<void>>();

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: Logger,
  ) {
    this.events.setMaxListeners(0);
  }

  /** The config-file seed, usable before the registry is reachable. */
  seed(agents: AgentRecord[]): void {
    for (const agent of agents) this.#entries.set(agent.name, { agent, status: initialStatus() });
  }

  get attached(): boolean {
    return this.#attached;
  }

  /**
   * Merges the registry index in once Elasticsearch answers: agents registered through the
   * API come back, seed agents get their last known status and config patch back, and every
   * entry is written so the index matches the inventory.
   */
  async attach(): Promise<void> {
    await this.store.init();
    const docs = await this.store.loadAll();
    for (const doc of docs) {
      const entry = this.#entries.get(doc.name);
      if (doc.origin === "api" && !entry) {
        this.#entries.set(doc.name, {
          agent: recordFromDocument(doc),
          status: statusFromDocument(doc),
        });
      } else if (doc.origin === "config" && entry?.agent.origin === "config") {
        entry.agent.configPatch = doc.config_patch ?? {};
        if (entry.status.state === "unknown") entry.status = statusFromDocument(doc);
      }
    }
    for (const entry of this.#entries.values()) {
      await this.store.put(toRegistryDocument(entry.agent, entry.status));
    }
    this.#attached = true;
  }

  #requireRegistry(what: string): void {
    if (!this.#attached) {
      throw new RegistryUnavailableError(
        `cannot ${what}: the agent registry in Elasticsearch has not been reachable since start-up`,
      );
    }
  }

  list(): InventoryEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.agent.name.localeCompare(b.agent.name));
  }

  get(name: string): InventoryEntry {
    const entry = this.#entries.get(name);
    if (!entry) throw new UnknownAgentError(`agent ${name} is not registered`);
    return entry;
  }

  /** Agents matching a selector; named agents that do not exist are an error. */
  select(selector: Selector): InventoryEntry[] {
    const byName =
      selector.names.length > 0 ? selector.names.map((name) => this.get(name)) : this.list();
    const labels = Object.entries(selector.labels);
    return byName.filter((entry) => labels.every(([k, v]) => entry.agent.labels[k] === v));
  }

  async register(agent: AgentRecord): Promise<InventoryEntry> {
    this.#requireRegistry(`register agent ${agent.name}`);
    if (this.#entries.has(agent.name)) {
      throw new InventoryConflictError(`agent ${agent.name} is already registered`);
    }
    const entry = { agent, status: initialStatus() };
    await this.#write(agent.name, () =>
      this.store.put(toRegistryDocument(agent, entry.status), true),
    );
    this.#entries.set(agent.name, entry);
    return entry;
  }

  async replace(agent: AgentRecord): Promise<InventoryEntry> {
    const entry = this.get(agent.name);
    this.#requireRegistry(`update agent ${agent.name}`);
    await this.#write(agent.name, () =>
      this.store.put(toRegistryDocument(agent, entry.status), true),
    );
    entry.agent = agent;
    return entry;
  }

  /**
   * Removes an agent. It leaves the inventory first, so status writes still queued for it
   * (from a probe or an operation in flight) are dropped and cannot re-create its document.
   */
  async remove(name: string): Promise<void> {
    const entry = this.get(name);
    this.#requireRegistry(`remove agent ${name}`);
    this.#entries.delete(name);
    try {
      await this.#write(name, () => this.store.delete(name));
    } catch (error) {
      this.#entries.set(name, entry);
      throw error;
    }
  }

  /** Updates status fields (not the state) and persists them. */
  async updateStatus(
    name: string,
    patch: Partial<Omit<AgentStatus, "state" | "reason">>,
  ): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) return;
    Object.assign(entry.status, patch);
    this.#persist(entry);
  }

  /** Sets the state; a change (or a new reason) is persisted and emitted. */
  async setState(name: string, state: AgentStateName, reason: string): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) return;
    const previous = entry.status.state;
    if (previous === state && entry.status.reason === reason) return;
    entry.status.state = state;
    entry.status.reason = reason;
    if (previous !== state) {
      entry.status.stateChangedAtNs = nowNs();
      this.events.emit("change", {
        agent: name,
        previousState: previous,
        state,
        reason,
        changedAtNs: entry.status.stateChangedAtNs,
      });
    }
    this.#persist(entry);
  }

  /**
   * Queues the entry's registry write without waiting for it: memory is the live state,
   * the index follows in order (a failed write is logged; the next change rewrites it).
   */
  #persist(entry: InventoryEntry): void {
    const name = entry.agent.name;
    this.#write(name, async () => {
      if (!this.#attached || this.#entries.get(name) !== entry) return;
      await this.store.put(toRegistryDocument(entry.agent, entry.status));
    }).catch((error: Error) =>
      this.logger.warn({ agent: name, err: error.message }, "registry write failed"),
    );
  }

  /** Registry writes of one agent run in order, each after the previous one finished. */
  #write(name: string, work: () => Promise<void>): Promise<void> {
    const previous = this.#writes.get(name) ?? Promise.resolve();
    const next = previous.then(work);
    const tail = next.catch(() => undefined);
    this.#writes.set(name, tail);
    void tail.then(() => {
      if (this.#writes.get(name) === tail) this.#writes.delete(name);
    });
    return next;
  }
}
