/** Why an SSH operation failed, so health can tell unreachable hosts from refused ones. */
export type SshFailureKind =
  | "unreachable"
  | "timeout"
  | "host_key"
  | "auth"
  | "command_failed"
  /** The connection dropped while a channel was opening or a command ran. */
  | "disconnected"
  | "protocol";

/** An SSH failure; the message names the agent, the host and the step. Never holds secrets. */
export class SshError extends Error {
  constructor(
    readonly kind: SshFailureKind,
    message: string,
  ) {
    super(message);
    this.name = "SshError";
  }
}

/** Maps a low-level ssh2/socket error to a failure kind. */
export function classifyConnectError(
  error: Error & { level?: string; code?: string },
): SshFailureKind {
  if (error.level === "client-authentication") return "auth";
  if (error.level === "client-timeout") return "timeout";
  const code = error.code ?? "";
  if (
    [
      "ECONNREFUSED",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "ETIMEDOUT",
      "ECONNRESET",
      "ENOTFOUND",
      "EAI_AGAIN",
    ].includes(code) ||
    error.level === "client-socket"
  ) {
    return "unreachable";
  }
  return "protocol";
}
