import type { AgentRecord } from "./agent-record.js";
import type { AgentStateName, AgentStatus } from "./agent-status.js";

/**
 * An agent as stored in the registry index. Secrets never appear: config-file agents store
 * nothing about their credentials beyond the auth kind, API agents store the reference
 * (`env:NAME` / `file:/path`) they were registered with.
 */
export interface RegistryDocument {
  name: string;
  host: string;
  ssh_port: number;
  user: string;
  auth_kind: "key" | "password";
  password_ref?: string | undefined;
  sudo_password_ref?: string | undefined;
  private_key_passphrase_ref?: string | undefined;
  private_key_path?: string | undefined;
  host_key_fingerprint?: string | undefined;
  labels: Record<string, string>;
  source: {
    repository_url: string;
    ref: string;
    install_dir: string;
    install_script: string;
    run_script: string;
    stop_script: string;
  };
  api_port: number;
  sudo: boolean;
  blocks: Record<string, Record<string, unknown>>;
  config_patch: Record<string, unknown>;
  origin: "config" | "api";
  status: {
    state: AgentStateName;
    reason: string;
    state_changed_at_ns: string;
    desired_config_hash: string;
    applied_config_hash: string;
    clock_offset_ns: string;
    clock_offset_measured_at_ns: string;
    last_span_time_ns: string;
    expect_running: boolean;
    last_failure?: string | undefined;
  };
  updated_at: string;
}

export const REGISTRY_MAPPINGS = {
  dynamic: "strict" as const,
  properties: {
    name: { type: "keyword" as const },
    host: { type: "keyword" as const },
    ssh_port: { type: "integer" as const },
    user: { type: "keyword" as const },
    auth_kind: { type: "keyword" as const },
    password_ref: { type: "keyword" as const, index: false },
    sudo_password_ref: { type: "keyword" as const, index: false },
    private_key_passphrase_ref: { type: "keyword" as const, index: false },
    private_key_path: { type: "keyword" as const, index: false },
    host_key_fingerprint: { type: "keyword" as const },
    labels: { type: "flattened" as const },
    source: { type: "object" as const, enabled: false },
    api_port: { type: "integer" as const },
    sudo: { type: "boolean" as const },
    blocks: { type: "object" as const, enabled: false },
    config_patch: { type: "object" as const, enabled: false },
    origin: { type: "keyword" as const },
    status: { type: "object" as const, enabled: false },
    updated_at: { type: "date" as const },
  },
};

export function toRegistryDocument(agent: AgentRecord, status: AgentStatus): RegistryDocument {
  return {
    name: agent.name,
    host: agent.host,
    ssh_port: agent.sshPort,
    user: agent.user,
    auth_kind: agent.privateKeyPath ? "key" : "password",
    password_ref: agent.origin === "api" ? agent.passwordRef : undefined,
    sudo_password_ref: agent.origin === "api" ? agent.sudoPasswordRef : undefined,
    private_key_passphrase_ref: agent.origin === "api" ? agent.privateKeyPassphraseRef : undefined,
    private_key_path: agent.privateKeyPath,
    host_key_fingerprint: agent.hostKeyFingerprint,
    labels: agent.labels,
    source: {
      repository_url: agent.source.repositoryUrl,
      ref: agent.source.ref,
      install_dir: agent.source.installDir,
      install_script: agent.source.installScript,
      run_script: agent.source.runScript,
      stop_script: agent.source.stopScript,
    },
    api_port: agent.apiPort,
    sudo: agent.sudo,
    blocks: agent.blocks,
    config_patch: agent.configPatch,
    origin: agent.origin,
    status: {
      state: status.state,
      reason: status.reason,
      state_changed_at_ns: String(status.stateChangedAtNs),
      desired_config_hash: status.desiredConfigHash,
      applied_config_hash: status.appliedConfigHash,
      clock_offset_ns: String(status.clockOffsetNs),
      clock_offset_measured_at_ns: String(status.clockOffsetMeasuredAtNs),
      last_span_time_ns: String(status.lastSpanTimeNs),
      expect_running: status.expectRunning,
      last_failure: status.lastFailure,
    },
    updated_at: new Date().toISOString(),
  };
}

/** An API-registered agent back from the registry (its secrets are references only). */
export function recordFromDocument(doc: RegistryDocument): AgentRecord {
  return {
    name: doc.name,
    host: doc.host,
    sshPort: doc.ssh_port,
    user: doc.user,
    passwordRef: doc.password_ref,
    sudoPasswordRef: doc.sudo_password_ref,
    privateKeyPassphraseRef: doc.private_key_passphrase_ref,
    privateKeyPath: doc.private_key_path,
    hostKeyFingerprint: doc.host_key_fingerprint,
    labels: doc.labels ?? {},
    source: {
      repositoryUrl: doc.source.repository_url,
      ref: doc.source.ref,
      installDir: doc.source.install_dir,
      installScript: doc.source.install_script,
      runScript: doc.source.run_script,
      stopScript: doc.source.stop_script,
    },
    apiPort: doc.api_port,
    sudo: doc.sudo,
    blocks: doc.blocks ?? {},
    configPatch: doc.config_patch ?? {},
    origin: "api",
  };
}

export function statusFromDocument(doc: RegistryDocument): AgentStatus {
  const s = doc.status;
  return {
    state: s.state,
    reason: s.reason,
    stateChangedAtNs: BigInt(s.state_changed_at_ns),
    desiredConfigHash: s.desired_config_hash,
    appliedConfigHash: s.applied_config_hash,
    clockOffsetNs: BigInt(s.clock_offset_ns),
    clockOffsetMeasuredAtNs: BigInt(s.clock_offset_measured_at_ns),
    lastSpanTimeNs: BigInt(s.last_span_time_ns),
    expectRunning: s.expect_running,
    lastFailure: s.last_failure,
  };
}
