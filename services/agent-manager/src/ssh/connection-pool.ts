import { readFileSync } from "node:fs";
import type { Logger } from "@deeptrace/shared/logging/logger";
import ssh2 from "ssh2";
import { classifyConnectError, SshError } from "./errors.js";
import { hostKeyAlgorithmsFor, parseKnownHosts, verifyHostKey } from "./host-key.js";
import { describeTarget, type SshTarget, targetKey } from "./target.js";

type Client = InstanceType<typeof ssh2.Client>;

export interface PoolOptions {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  keepaliveIntervalMs: number;
  logger: Logger;
  /** Each connection attempt's outcome: "opened" or the failure kind. */
  onConnect?: (agent: string, outcome: string) => void;
}

interface Entry {
  ready: Promise<Client>;
  users: number;
  idle?: NodeJS.Timeout | undefined;
}

/**
 * SSH connections by target, reused across operations and closed after an idle period.
 * A connection is only usable once the host key was verified and authentication passed;
 * a host key that fails verification ends the handshake before any command can run.
 */
export class ConnectionPool {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly options: PoolOptions) {}

  /** Runs `use` with a connected client; the connection stays pooled afterwards. */
  async with<T>(target: SshTarget, use: (client: Client) => Promise<T>): Promise<T> {
    const key = targetKey(target);
    let entry = this.#entries.get(key);
    if (!entry) {
      const created: Entry = { ready: Promise.resolve(undefined as never), users: 0 };
      created.ready = this.#connect(target, () => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
      });
      // A failed connection is not pooled; the next operation tries again.
      created.ready.catch(() => undefined);
      this.#entries.set(key, created);
      entry = created;
    }
    entry.users += 1;
    clearTimeout(entry.idle);
    try {
      const client = await entry.ready;
      return await use(client);
    } finally {
      entry.users -= 1;
      if (entry.users === 0 && this.#entries.get(key) === entry) {
        entry.idle = setTimeout(() => this.#drop(key, entry), this.options.idleTimeoutMs);
        entry.idle.unref();
      }
    }
  }

  /** Closes the pooled connection of a target (after a host change or a failure). */
  forget(target: SshTarget): void {
    const key = targetKey(target);
    const entry = this.#entries.get(key);
    if (entry) this.#drop(key, entry);
  }

  closeAll(): void {
    for (const [key, entry] of this.#entries) this.#drop(key, entry);
  }

  #drop(key: string, entry: Entry): void {
    clearTimeout(entry.idle);
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    entry.ready.then(
      (client) => client.end(),
      () => undefined,
    );
  }

  #connect(target: SshTarget, unpool: () => void): Promise<Client> {
    const where = describeTarget(target);
    return new Promise<Client>((resolve, reject) => {
      const client = new ssh2.Client();
      let refusal: string | undefined;
      let settled = false;
      const fail = (error: SshError) => {
        if (settled) return;
        settled = true;
        this.options.onConnect?.(target.agent, error.kind);
        unpool();
        client.end();
        reject(error);
      };
      client.on("ready", () => {
        settled = true;
        this.options.onConnect?.(target.agent, "opened");
        resolve(client);
      });
      client.on("error", (error: Error & { level?: string; code?: string }) => {
        if (refusal) {
          fail(
            new SshError(
              "host_key",
              `agent ${target.agent}: connect to ${where} refused: ${refusal}`,
            ),
          );
          return;
        }
        const kind = classifyConnectError(error);
        const what = kind === "auth" ? "authentication failed" : error.message;
        if (settled) {
          this.options.logger.warn(
            { agent: target.agent, err: error.message },
            "ssh connection error",
          );
          unpool();
          return;
        }
        fail(new SshError(kind, `agent ${target.agent}: connect to ${where} failed: ${what}`));
      });
      client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
        finish(prompts.map(() => target.password?.reveal() ?? ""));
      });
      client.on("close", () => {
        unpool();
        if (!settled) {
          fail(
            new SshError(
              refusal ? "host_key" : "unreachable",
              `agent ${target.agent}: connect to ${where} failed: ${refusal ?? "connection closed during the handshake"}`,
            ),
          );
        }
      });

      let knownTypes: string[] = [];
      if (!target.hostKey.pinnedFingerprint && target.hostKey.knownHostsFile) {
        try {
          const text = readFileSync(target.hostKey.knownHostsFile, "utf8");
          knownTypes = parseKnownHosts(text, target.host, target.port).keys.map((k) => k.keyType);
        } catch {
          knownTypes = [];
        }
      }
      let privateKey: Buffer | undefined;
      if (target.privateKeyPath) {
        try {
          privateKey = readFileSync(target.privateKeyPath);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
          fail(
            new SshError(
              "auth",
              `agent ${target.agent}: private key ${target.privateKeyPath} cannot be read (${code})`,
            ),
          );
          return;
        }
      }
      client.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: this.options.connectTimeoutMs,
        keepaliveInterval: this.options.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        ...(privateKey ? { privateKey } : {}),
        ...(target.privateKeyPassphrase
          ? { passphrase: target.privateKeyPassphrase.reveal() }
          : {}),
        ...(target.password ? { password: target.password.reveal() } : {}),
        // Servers that only offer keyboard-interactive (PAM) get the password as the answer.
        tryKeyboard: target.password !== undefined,
        ...(knownTypes.length > 0
          ? { algorithms: { serverHostKey: hostKeyAlgorithmsFor(knownTypes) as never } }
          : {}),
        hostVerifier: (keyBlob: Buffer) => {
          const decision = verifyHostKey(target.hostKey, target.host, target.port, keyBlob);
          if (!decision.accept) {
            refusal = decision.reason;
            this.options.logger.error(
              { agent: target.agent, host: where, reason: decision.reason },
              "host key refused; no command is run on this host",
            );
            return false;
          }
          if (decision.how === "trusted_first_use") {
            this.options.logger.warn(
              { agent: target.agent, host: where, knownHosts: target.hostKey.knownHostsFile },
              "host key trusted on first use and recorded",
            );
          }
          return true;
        },
      });
    });
  }
}
