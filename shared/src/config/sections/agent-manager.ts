import { z } from "zod";
import { type ConfigFields, serviceKeys } from "../fields.js";

/** `[agent_manager]`: the fleet service. */
export function agentManagerSection(f: ConfigFields) {
  const source = z.strictObject({
    repository_url: z.string().min(1).optional(),
    ref: z.string().min(1).optional(),
    /** Directory on the host; relative paths are under the SSH user's home. `{agent}` is replaced. */
    install_dir: z.string().min(1).default("deeptrace-agents/{agent}"),
    install_script: z.string().min(1).default("install.sh"),
    run_script: z.string().min(1).default("run.sh"),
    stop_script: z.string().min(1).default("stop.sh"),
  });

  /** What every agent gets unless its `[[agents]]` entry says otherwise. */
  const agentDefaults = z.strictObject({
    source: source.prefault({}),
    /** Port of the agent REST API (`[api] port` of an agent overrides it). */
    api_port: f.port.default(7899),
    /** Name of the agent config file inside the install directory. */
    config_file: z.string().min(1).default("agent.toml"),
    /** Pid file the run script writes, relative to the install directory. */
    pid_file: z.string().min(1).default("agent.pid"),
    /** Blocks merged under every agent's own blocks in the rendered agent config. */
    sender: z.record(z.string(), z.unknown()).default({}),
    emulator: z.record(z.string(), z.unknown()).default({}),
  });

  return z.strictObject({
    ...serviceKeys(f, 50051, 9461),
    /** Agents worked on at once by a fleet operation when the request does not say. */
    concurrency: z.number().int().min(1).max(256).default(8),
    /** TCP connect plus SSH handshake and authentication. */
    ssh_connect_timeout_ms: f.positiveMs.default(10_000),
    /** Longest a single remote command may run (clone and install included). */
    ssh_command_timeout_ms: f.positiveMs.default(300_000),
    /** Pooled SSH connections unused for this long are closed. */
    ssh_idle_timeout_ms: f.positiveMs.default(60_000),
    ssh_keepalive_interval_ms: f.positiveMs.default(15_000),
    /**
     * OpenSSH known_hosts file checked for hosts without a pinned fingerprint (plain and
     * hashed entries, `[host]:port` for ports other than 22).
     */
    known_hosts_file: z.string().min(1).optional(),
    /**
     * Accept and record (in known_hosts_file) the key of a host that has neither a pinned
     * fingerprint nor a known_hosts entry. A host whose recorded key changes is still refused.
     */
    trust_on_first_use: z.boolean().default(false),
    /** Time between health probes of one agent. */
    probe_interval_ms: f.positiveMs.default(15_000),
    /** Timeout of the agent REST API calls (probe and hot config update). */
    api_timeout_ms: f.positiveMs.default(5_000),
    /** How long `start` waits for the agent REST API to answer. */
    start_timeout_ms: f.positiveMs.default(20_000),
    /**
     * A running agent whose freshest span is older than this is degraded; 0 turns the check
     * off (agents on idle hosts write nothing).
     */
    span_staleness_ms: z.number().int().min(0).default(0),
    /** Elasticsearch address written into agent configs; default: the server's own. */
    agent_elastic_url: z.string().url().optional(),
    /** Index suffixes under elastic.index_prefix. */
    registry_index_suffix: f.indexName.default("agents"),
    history_index_suffix: f.indexName.default("agent-state-history"),
    audit_index_suffix: f.indexName.default("audit"),
    agent_defaults: agentDefaults.prefault({}),
  });
}
