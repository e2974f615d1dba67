/** Health states, as in deeptrace.agent.v1.AgentState. */
export type AgentStateName =
  | "unknown"
  | "deploying"
  | "running"
  | "degraded"
  | "stopped"
  | "unreachable"
  | "failed";

/** What the manager knows about an agent's health; persisted with the registry entry. */
export interface AgentStatus {
  state: AgentStateName;
  reason: string;
  stateChangedAtNs: bigint;
  /** Hash of the config the agent should run. */
  desiredConfigHash: string;
  /** Hash of the config the agent reported (or was last given successfully). */
  appliedConfigHash: string;
  clockOffsetNs: bigint;
  clockOffsetMeasuredAtNs: bigint;
  lastSpanTimeNs: bigint;
  /** Whether the operator wants the agent running (set by start, cleared by stop). */
  expectRunning: boolean;
  /** The last lifecycle step that failed, until a later operation succeeds. */
  lastFailure?: string | undefined;
}

export function initialStatus(): AgentStatus {
  return {
    state: "unknown",
    reason: "not probed yet",
    stateChangedAtNs: 0n,
    desiredConfigHash: "",
    appliedConfigHash: "",
    clockOffsetNs: 0n,
    clockOffsetMeasuredAtNs: 0n,
    lastSpanTimeNs: 0n,
    expectRunning: false,
  };
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
