import type { AgentStateName } from "../inventory/agent-status.js";
import type { HostFacts } from "./host-probe.js";

/** Everything one probe observed about an agent, plus what the manager expects of it. */
export interface ProbeObservation {
  ssh: { ok: true; facts: HostFacts } | { ok: false; kind: string; message: string };
  /** The REST API answer; absent when the process is not alive (not asked). */
  api?: { ok: true; configHash?: string | undefined } | { ok: false; message: string } | undefined;
  spanIndex: string;
  /** Age of the freshest span in the agent's index; undefined when it has none. */
  lastSpanAgeMs?: number | undefined;
  /** 0 turns the staleness check off. */
  stalenessMs: number;
  /** How long the agent has been expected to run (grace before staleness counts). */
  runningForMs: number;
  expectRunning: boolean;
  desiredHash: string;
  appliedHash: string;
  /** The message of the last failed lifecycle step, until an operation succeeds. */
  lastFailure?: string | undefined;
}

export interface DerivedState {
  state: AgentStateName;
  reason: string;
}

/**
 * The state of an agent from one probe: refused or unauthenticated SSH is failed, other
 * SSH failures unreachable; a failed lifecycle step keeps the agent failed; a dead process
 * is stopped (failed when it should be running); a live process whose API does not answer,
 * whose spans are stale or whose config differs from the desired one is degraded.
 */
export function deriveState(o: ProbeObservation): DerivedState {
  if (!o.ssh.ok) {
    return ["host_key", "auth"].includes(o.ssh.kind)
      ? { state: "failed", reason: o.ssh.message }
      : { state: "unreachable", reason: o.ssh.message };
  }
  const facts = o.ssh.facts;
  if (o.lastFailure && !facts.processAlive) return { state: "failed", reason: o.lastFailure };
  if (!facts.installed) return { state: "stopped", reason: "not deployed on the host" };
  if (!facts.processAlive) {
    return o.expectRunning
      ? { state: "failed", reason: "the agent process is not running although it was started" }
      : { state: "stopped", reason: "installed, not running" };
  }
  if (!o.api?.ok) {
    return {
      state: "degraded",
      reason: `process alive but the REST API does not answer${o.api && !o.api.ok ? `: ${o.api.message}` : ""}`,
    };
  }
  if (o.stalenessMs > 0 && o.runningForMs > o.stalenessMs) {
    if (o.lastSpanAgeMs === undefined) {
      return { state: "degraded", reason: `no span in ${o.spanIndex} yet` };
    }
    if (o.lastSpanAgeMs > o.stalenessMs) {
      return {
        state: "degraded",
        reason: `freshest span in ${o.spanIndex} is ${Math.round(o.lastSpanAgeMs / 1000)} s old`,
      };
    }
  }
  if (o.desiredHash && o.appliedHash && o.desiredHash !== o.appliedHash) {
    return {
      state: "degraded",
      reason: `config drift: desired ${o.desiredHash}, applied ${o.appliedHash}`,
    };
  }
  const config = o.appliedHash ? `, config ${o.appliedHash}` : "";
  return { state: "running", reason: `process alive, REST API answering${config}` };
}
