import { posix } from "node:path";
import { resolveSecret, type Secret } from "@deeptrace/shared/config/secret";
import type { AgentRecord } from "../inventory/agent-record.js";
import type { ConnectionPool } from "../ssh/connection-pool.js";
import { SshError } from "../ssh/errors.js";
import { type CommandResult, type Privilege, runRemote } from "../ssh/remote-command.js";
import { writeFileAtomic } from "../ssh/sftp-write.js";
import type { SshTarget } from "../ssh/target.js";
import { type ProgressSink, type Step, StepError } from "./progress.js";

export interface SessionSettings {
  commandTimeoutMs: number;
  knownHostsFile?: string | undefined;
  trustOnFirstUse: boolean;
  configFile: string;
  pidFile: string;
}

function secretFrom(value: Secret | undefined, ref: string | undefined): Secret | undefined {
  if (value) return value;
  return ref ? resolveSecret(ref).secret : undefined;
}

/** The SSH target of an agent; referenced secrets are resolved now, never stored. */
export function sshTargetOf(agent: AgentRecord, settings: SessionSettings): SshTarget {
  let password: Secret | undefined;
  let passphrase: Secret | undefined;
  try {
    password = secretFrom(agent.password, agent.passwordRef);
    passphrase = secretFrom(agent.privateKeyPassphrase, agent.privateKeyPassphraseRef);
  } catch (error) {
    throw new StepError(agent.name, "connect", (error as Error).message);
  }
  return {
    agent: agent.name,
    host: agent.host,
    port: agent.sshPort,
    user: agent.user,
    password,
    privateKeyPath: agent.privateKeyPath,
    privateKeyPassphrase: passphrase,
    hostKey: {
      pinnedFingerprint: agent.hostKeyFingerprint,
      knownHostsFile: settings.knownHostsFile,
      trustOnFirstUse: settings.trustOnFirstUse,
    },
  };
}

/**
 * One agent's remote operations over a pooled connection: shell scripts judged by their
 * exit code, with output streamed as log progress, and atomic file writes.
 */
export class AgentSession {
  readonly target: SshTarget;

  constructor(
    readonly agent: AgentRecord,
    private readonly pool: ConnectionPool,
    readonly settings: SessionSettings,
    private readonly progress: ProgressSink,
    private readonly signal?: AbortSignal,
  ) {
    this.target = sshTargetOf(agent, settings);
  }

  get dir(): string {
    return this.agent.source.installDir;
  }

  path(relative: string): string {
    return posix.join(this.dir, relative);
  }

  /** How scripts that need root run: sudo with the password on stdin, or NOPASSWD. */
  privilege(): Privilege {
    if (!this.agent.sudo) return { kind: "user" };
    const password =
      secretFrom(this.agent.sudoPassword, this.agent.sudoPasswordRef) ??
      secretFrom(this.agent.password, this.agent.passwordRef);
    return password ? { kind: "sudo_password", password } : { kind: "sudo_nopasswd" };
  }

  async connect(): Promise<void> {
    await this.run("connect", "true");
  }

  /** Runs a script; a non-zero exit status fails the step with the status and the last stderr lines. */
  async run(step: Step, script: string, privileged = false): Promise<CommandResult> {
    const result = await this.exec(step, script, privileged);
    if (result.exitCode !== 0) {
      const tail = result.stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 400);
      const status =
        result.exitCode === null ? `signal ${result.signal}` : `exit status ${result.exitCode}`;
      throw new StepError(this.agent.name, step, `${status}${tail ? `: ${tail}` : ""}`);
    }
    return result;
  }

  /** Runs a script and returns its result whatever the exit status. */
  async exec(step: Step, script: string, privileged = false): Promise<CommandResult> {
    return this.#retryOnDisconnect(step, () => this.#execOnce(step, script, privileged));
  }

  async #execOnce(step: Step, script: string, privileged: boolean): Promise<CommandResult> {
    try {
      return await this.pool.with(this.target, (client) =>
        runRemote(client, script, {
          timeoutMs: this.settings.commandTimeoutMs,
          privilege: privileged ? this.privilege() : { kind: "user" },
          signal: this.signal,
          onLine: (line, stream) => {
            if (line.trim()) {
              this.progress({
                agent: this.agent.name,
                step,
                status: "log",
                message: `${stream}: ${line}`,
              });
            }
          },
        }),
      );
    } catch (error) {
      throw this.#stepError(step, error);
    }
  }

  async writeFile(step: Step, relative: string, content: string): Promise<void> {
    await this.#retryOnDisconnect(step, () => this.#writeOnce(step, relative, content));
  }

  /**
   * Steps are idempotent, so one that lost its connection (a server restart, a dropped
   * link) runs once more on a fresh connection before it counts as failed.
   */
  async #retryOnDisconnect<T>(step: Step, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof StepError) || error.sshKind !== "disconnected") throw error;
      this.pool.forget(this.target);
      this.progress({
        agent: this.agent.name,
        step,
        status: "log",
        message: `connection lost (${error.message}); reconnecting and running the step again`,
      });
      return attempt();
    }
  }

  async #writeOnce(step: Step, relative: string, content: string): Promise<void> {
    try {
      await this.pool.with(this.target, (client) =>
        writeFileAtomic(client, this.path(relative), content),
      );
    } catch (error) {
      throw this.#stepError(step, error);
    }
  }

  #stepError(step: Step, error: unknown): StepError {
    if (error instanceof StepError) return error;
    if (error instanceof SshError) {
      // Connection failures are reported as the connect step, whatever step needed the connection.
      const connectFailure =
        ["unreachable", "timeout", "host_key", "auth"].includes(error.kind) &&
        error.message.includes("connect to");
      return new StepError(
        this.agent.name,
        connectFailure ? "connect" : step,
        error.message.replace(`agent ${this.agent.name}: `, ""),
        error.kind,
      );
    }
    return new StepError(this.agent.name, step, (error as Error).message);
  }
}
