import type { Config } from "@deeptrace/shared/config/schema";
import type { AgentBlocks, AgentRecord, AgentSourceSpec } from "./agent-record.js";

type Defaults = Config["agent_manager"]["agent_defaults"];
type SourceOverrides = Partial<Record<keyof Defaults["source"], string | undefined>>;

const BLOCKS = ["span", "sender", "trace", "ebpf", "api", "metric", "emulator"] as const;

/** The agent's source: its own keys over the manager's defaults; `{agent}` in install_dir is the name. */
export function resolveSource(
  name: string,
  defaults: Defaults["source"],
  own: SourceOverrides | undefined,
): AgentSourceSpec {
  const pick = (key: keyof Defaults["source"]) => own?.[key] ?? defaults[key] ?? "";
  return {
    repositoryUrl: pick("repository_url"),
    ref: pick("ref"),
    installDir: pick("install_dir").replaceAll("{agent}", name),
    installScript: pick("install_script"),
    runScript: pick("run_script"),
    stopScript: pick("stop_script"),
  };
}

/** The `[[agents]]` seed as inventory records. */
export function agentsFromConfig(config: Config): AgentRecord[] {
  const defaults = config.agent_manager.agent_defaults;
  return config.agents.map((entry) => {
    const info = entry.agent_info;
    const blocks: AgentBlocks = {};
    for (const key of BLOCKS) {
      const block = entry[key];
      if (block) blocks[key] = block;
    }
    const apiPort = typeof entry.api?.port === "number" ? entry.api.port : defaults.api_port;
    return {
      name: info.agent_name,
      host: info.host_ip,
      sshPort: info.ssh_port,
      user: info.user_name,
      password: info.host_password,
      privateKeyPath: info.private_key_path,
      privateKeyPassphrase: info.private_key_passphrase,
      hostKeyFingerprint: info.host_key_fingerprint,
      labels: info.labels,
      source: resolveSource(info.agent_name, defaults.source, entry.source),
      apiPort,
      sudo: info.sudo,
      sudoPassword: info.sudo_password,
      blocks,
      configPatch: {},
      origin: "config",
    };
  });
}
