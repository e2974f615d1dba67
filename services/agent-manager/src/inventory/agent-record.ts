import type { Secret } from "@deeptrace/shared/config/secret";

/** Where an agent's code comes from and how it is run, with defaults applied. */
export interface AgentSourceSpec {
  repositoryUrl: string;
  ref: string;
  installDir: string;
  installScript: string;
  runScript: string;
  stopScript: string;
}

/** The agent's own config blocks, passed through into its rendered config. */
export type AgentBlocks = Record<string, Record<string, unknown>>;

/**
 * One agent of the inventory. Secrets from the config file are held as resolved Secret
 * objects; agents registered through the API hold only references (`env:` / `file:`),
 * resolved when a connection is opened. Neither ever reaches Elasticsearch or a response.
 */
export interface AgentRecord {
  name: string;
  host: string;
  sshPort: number;
  user: string;
  password?: Secret | undefined;
  passwordRef?: string | undefined;
  privateKeyPath?: string | undefined;
  privateKeyPassphrase?: Secret | undefined;
  privateKeyPassphraseRef?: string | undefined;
  hostKeyFingerprint?: string | undefined;
  labels: Record<string, string>;
  source: AgentSourceSpec;
  apiPort: number;
  sudo: boolean;
  sudoPassword?: Secret | undefined;
  sudoPasswordRef?: string | undefined;
  blocks: AgentBlocks;
  /** Overrides merged into the rendered config (UpdateConfig), kept across restarts. */
  configPatch: Record<string, unknown>;
  /** "config" agents come from [[agents]] and are changed by editing the file. */
  origin: "config" | "api";
}

export function authKind(agent: AgentRecord): "key" | "password" {
  return agent.privateKeyPath ? "key" : "password";
}
