import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type Agent,
  AgentSchema,
  AgentState,
  type AgentStateChange,
  AgentStateChangeSchema,
  SshAuthKind,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import type { StateChange } from "../health/state-change.js";
import { authKind } from "../inventory/agent-record.js";
import type { AgentStateName } from "../inventory/agent-status.js";
import type { InventoryEntry } from "../inventory/inventory.js";

const STATES: Record<AgentStateName, AgentState> = {
  unknown: AgentState.UNKNOWN,
  deploying: AgentState.DEPLOYING,
  running: AgentState.RUNNING,
  degraded: AgentState.DEGRADED,
  stopped: AgentState.STOPPED,
  unreachable: AgentState.UNREACHABLE,
  failed: AgentState.FAILED,
};

export function stateMessage(state: AgentStateName): AgentState {
  return STATES[state];
}

/** The API view of an agent: connection facts and health, never a secret or a secret reference. */
export function agentMessage(entry: InventoryEntry, spanIndex: string): Agent {
  const { agent, status } = entry;
  return create(AgentSchema, {
    name: agent.name,
    host: agent.host,
    sshPort: agent.sshPort,
    user: agent.user,
    authKind: authKind(agent) === "key" ? SshAuthKind.KEY : SshAuthKind.PASSWORD,
    hostKeyFingerprint: agent.hostKeyFingerprint ?? "",
    labels: agent.labels,
    source: {
      repositoryUrl: agent.source.repositoryUrl,
      ref: agent.source.ref,
      installScript: agent.source.installScript,
      runScript: agent.source.runScript,
      stopScript: agent.source.stopScript,
      installDir: agent.source.installDir,
    },
    spanIndex,
    apiUrl: `http://${agent.host}:${agent.apiPort}`,
    state: stateMessage(status.state),
    stateReason: status.reason,
    desiredConfigHash: status.desiredConfigHash,
    appliedConfigHash: status.appliedConfigHash,
    clockOffsetNs: status.clockOffsetNs,
    clockOffsetMeasuredAtNs: status.clockOffsetMeasuredAtNs,
    lastSpanTimeNs: status.lastSpanTimeNs,
    stateChangedAtNs: status.stateChangedAtNs,
    sudo: agent.sudo,
    origin: agent.origin,
  } satisfies MessageInitShape<typeof AgentSchema>);
}

export function stateChangeMessage(change: StateChange): AgentStateChange {
  return create(AgentStateChangeSchema, {
    agent: change.agent,
    previousState: stateMessage(change.previousState),
    state: stateMessage(change.state),
    reason: change.reason,
    changedAtNs: change.changedAtNs,
  });
}
