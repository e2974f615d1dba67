import type { Logger } from "@deeptrace/shared/logging/logger";
import type { Client } from "@elastic/elasticsearch";
import { nowNs } from "../inventory/agent-status.js";
import type { Inventory, InventoryEntry } from "../inventory/inventory.js";
import { fetchAgentStatus, foreignAgent } from "../lifecycle/agent-api.js";
import { sshTargetOf } from "../lifecycle/agent-session.js";
import { type RenderContext, renderAgentConfig, spanIndexOf } from "../lifecycle/render-config.js";
import type { ConnectionPool } from "../ssh/connection-pool.js";
import { SshError } from "../ssh/errors.js";
import { runRemote } from "../ssh/remote-command.js";
import { deriveState, type ProbeObservation } from "./derive-state.js";
import { hostProbeScript, parseHostFacts } from "./host-probe.js";
import { freshestSpanMonotonicNs } from "./span-freshness.js";

export interface MonitorSettings {
  intervalMs: number;
  apiTimeoutMs: number;
  stalenessMs: number;
  concurrency: number;
  knownHostsFile?: string | undefined;
  trustOnFirstUse: boolean;
  pidFile: string;
}

/**
 * Probes every agent periodically (and on demand after lifecycle operations): one SSH
 * round trip for install state, process liveness and the host clock offset, the REST API
 * status, and the freshest span in the agent's index; the derived state goes to the
 * inventory. Agents busy with an operation are left alone until it ends.
 */
export class HealthMonitor {
  readonly #busy = new Map<string, number>();
  /** Bumped by every claim: a probe that saw an older value predates an operation. */
  readonly #generation = new Map<string, number>();
  readonly #runningSince = new Map<string, number>();
  /** Agents waiting for or in a probe; a slow (unreachable) host never delays the others. */
  readonly #queued = new Set<string>();
  readonly #pending: string[] = [];
  readonly #active = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly inventory: Inventory,
    private readonly pool: ConnectionPool,
    private readonly elastic: Client,
    private readonly render: RenderContext,
    private readonly settings: MonitorSettings,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.#schedule(), this.settings.intervalMs);
    this.#schedule();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#pending.length = 0;
    await Promise.all([...this.#active]);
  }

  /** Queues every agent that is neither worked on nor already queued, and runs probes up to the limit. */
  #schedule(): void {
    for (const { agent } of this.inventory.list()) {
      if (this.#busy.has(agent.name) || this.#queued.has(agent.name)) continue;
      this.#queued.add(agent.name);
      this.#pending.push(agent.name);
    }
    this.#pump();
  }

  #pump(): void {
    while (this.#active.size < this.settings.concurrency && this.#pending.length > 0) {
      const name = this.#pending.shift() as string;
      if (this.#busy.has(name)) {
        this.#queued.delete(name);
        continue;
      }
      const probe: Promise<void> = this.#probeByName(name, false)
        .catch(() => undefined)
        .finally(() => {
          this.#active.delete(probe);
          this.#queued.delete(name);
          this.#pump();
        });
      this.#active.add(probe);
    }
  }

  /** Marks agents as worked on, so periodic probes skip them; returns the release function. */
  claim(names: string[]): () => void {
    for (const name of names) {
      this.#busy.set(name, (this.#busy.get(name) ?? 0) + 1);
      this.#generation.set(name, (this.#generation.get(name) ?? 0) + 1);
    }
    return () => {
      for (const name of names) {
        const n = (this.#busy.get(name) ?? 1) - 1;
        if (n <= 0) this.#busy.delete(name);
        else this.#busy.set(name, n);
      }
    };
  }

  /** Probes one agent now (after an operation on it). */
  async probe(name: string): Promise<void> {
    await this.#probeByName(name, true);
  }

  /**
   * A periodic probe (`afterOperation` false) that ends while an operation claimed the agent
   * keeps its findings (state, hashes, offset) out of the inventory: they may predate the
   * operation, which owns the agent until its own probe.
   */
  async #probeByName(name: string, afterOperation: boolean): Promise<void> {
    let entry: InventoryEntry;
    try {
      entry = this.inventory.get(name);
    } catch {
      return; // removed meanwhile
    }
    await this.#probeSafely(entry, afterOperation);
  }

  async #probeSafely(entry: InventoryEntry, afterOperation: boolean): Promise<void> {
    try {
      await this.#probe(entry, afterOperation);
    } catch (error) {
      this.logger.warn({ agent: entry.agent.name, err: (error as Error).message }, "probe failed");
    }
  }

  async #probe(entry: InventoryEntry, afterOperation: boolean): Promise<void> {
    const { agent, status } = entry;
    const generation = this.#generation.get(agent.name) ?? 0;
    const rendered = renderAgentConfig(agent, this.render);
    const spanIndex = spanIndexOf(rendered.object, agent.name);
    const observation: ProbeObservation = {
      ssh: { ok: false, kind: "protocol", message: "" },
      spanIndex,
      stalenessMs: this.settings.stalenessMs,
      runningForMs: 0,
      expectRunning: status.expectRunning,
      desiredHash: rendered.hash,
      appliedHash: status.appliedConfigHash,
      lastFailure: status.lastFailure,
    };
    try {
      const target = sshTargetOf(agent, {
        commandTimeoutMs: this.settings.apiTimeoutMs,
        knownHostsFile: this.settings.knownHostsFile,
        trustOnFirstUse: this.settings.trustOnFirstUse,
        configFile: "",
        pidFile: this.settings.pidFile,
      });
      const result = await this.pool.with(target, (client) =>
        runRemote(client, hostProbeScript(agent.source.installDir, this.settings.pidFile), {
          timeoutMs: this.settings.apiTimeoutMs * 2,
        }),
      );
      observation.ssh = { ok: true, facts: parseHostFacts(result.stdout) };
    } catch (error) {
      const kind = error instanceof SshError ? error.kind : "protocol";
      observation.ssh = { ok: false, kind, message: (error as Error).message };
    }
    const patch: Parameters<Inventory["updateStatus"]>[1] = {
      desiredConfigHash: observation.desiredHash,
    };
    if (observation.ssh.ok) {
      const facts = observation.ssh.facts;
      if (facts.clockOffsetNs !== undefined) {
        patch.clockOffsetNs = facts.clockOffsetNs;
        patch.clockOffsetMeasuredAtNs = nowNs();
      }
      if (facts.processAlive) {
        const since = this.#runningSince.get(agent.name) ?? Date.now();
        this.#runningSince.set(agent.name, since);
        observation.runningForMs = Date.now() - since;
        try {
          const api = await fetchAgentStatus(agent.host, agent.apiPort, this.settings.apiTimeoutMs);
          const foreign = foreignAgent(api, agent.name, agent.apiPort);
          if (foreign) throw new Error(foreign);
          observation.api = { ok: true, configHash: api.config_hash };
          if (api.config_hash) {
            observation.appliedHash = api.config_hash;
            patch.appliedConfigHash = api.config_hash;
          }
        } catch (error) {
          observation.api = { ok: false, message: (error as Error).message };
        }
      } else {
        this.#runningSince.delete(agent.name);
      }
      const offset = patch.clockOffsetNs ?? status.clockOffsetNs;
      try {
        const monotonic = await freshestSpanMonotonicNs(this.elastic, spanIndex);
        if (monotonic !== undefined) {
          const wall = monotonic + offset;
          patch.lastSpanTimeNs = wall;
          observation.lastSpanAgeMs = Number((nowNs() - wall) / 1_000_000n);
        }
      } catch (error) {
        this.logger.warn(
          { agent: agent.name, index: spanIndex, err: (error as Error).message },
          "span freshness query failed",
        );
      }
    }
    const stale =
      this.#busy.has(agent.name) || (this.#generation.get(agent.name) ?? 0) !== generation;
    if (!afterOperation && stale) return;
    await this.inventory.updateStatus(agent.name, patch);
    const derived = deriveState(observation);
    await this.inventory.setState(agent.name, derived.state, derived.reason);
  }
}
