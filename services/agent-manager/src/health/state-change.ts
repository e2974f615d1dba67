import type { AgentStateName } from "../inventory/agent-status.js";

export interface StateChange {
  agent: string;
  previousState: AgentStateName;
  state: AgentStateName;
  reason: string;
  changedAtNs: bigint;
}
