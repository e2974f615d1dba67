import type { Secret } from "@deeptrace/shared/config/secret";
import type { HostKeyPolicy } from "./host-key.js";

/** Everything needed to open an SSH connection to one agent's host. */
export interface SshTarget {
  agent: string;
  host: string;
  port: number;
  user: string;
  password?: Secret | undefined;
  privateKeyPath?: string | undefined;
  privateKeyPassphrase?: Secret | undefined;
  hostKey: HostKeyPolicy;
}

/** Pool key: a changed address, user, credentials source or host key policy opens a new connection. */
export function targetKey(t: SshTarget): string {
  return JSON.stringify([
    t.agent,
    t.host,
    t.port,
    t.user,
    t.privateKeyPath ?? "",
    t.password ? "password" : "",
    t.hostKey.pinnedFingerprint ?? "",
    t.hostKey.knownHostsFile ?? "",
    t.hostKey.trustOnFirstUse,
  ]);
}

export function describeTarget(t: SshTarget): string {
  return `${t.user}@${t.host}:${t.port}`;
}
