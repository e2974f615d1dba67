/**
 * A small ssh2 client for tests that check what happened on the SSH test hosts, with the
 * host key always verified against the fingerprint pinned in ssh-hosts.json.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client } from "ssh2";
import type { SshHost } from "./infrastructure.js";
import { sshPassword } from "./infrastructure.js";

/** `SHA256:<unpadded base64>` of a raw host key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(hostKey: Buffer): string {
  return `SHA256:${createHash("sha256").update(hostKey).digest("base64").replace(/=+$/, "")}`;
}

export type SshAuth = "key" | "password";

export interface SshConnectOptions {
  /** Fingerprint to require instead of the host's own (to test a mismatch). */
  expectFingerprint?: string;
  /** Password to offer instead of the real one (to test a rejection). */
  password?: string;
}

/**
 * Connects as the host's test user with its key or its password. Rejects if the host key
 * does not match, naming both fingerprints.
 */
export function sshConnect(
  host: SshHost,
  auth: SshAuth,
  options: SshConnectOptions = {},
): Promise<Client> {
  const expected = options.expectFingerprint ?? host.hostKeyFingerprint;
  let presented: string | undefined;
  const client = new Client();
  return new Promise((resolve, reject) => {
    client.once("ready", () => resolve(client));
    client.once("error", (error) => {
      client.end();
      if (presented !== undefined && presented !== expected) {
        reject(
          new Error(
            `host key of ${host.name} (${host.ip}) is ${presented}, expected ${expected}: ${error.message}`,
          ),
        );
      } else {
        reject(error);
      }
    });
    client.connect({
      host: host.ip,
      port: host.port,
      username: host.user,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key);
        return presented === expected;
      },
      ...(auth === "key"
        ? { privateKey: readFileSync(host.privateKeyPath) }
        : { password: options.password ?? sshPassword(host), tryKeyboard: false }),
    });
  });
}

export interface ExecResult {
  /** Exit status, or null when the command died of a signal. */
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** Runs one command (through the remote user's shell) and waits for its exit status. */
export function sshExec(client: Client, command: string, stdin?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) {
        reject(error);
        return;
      }
      let stdout = "";
      let stderr = "";
      let code: number | null = null;
      let signal: string | undefined;
      channel.on("data", (data: Buffer) => {
        stdout += data.toString("utf8");
      });
      channel.stderr.on("data", (data: Buffer) => {
        stderr += data.toString("utf8");
      });
      channel.on("exit", (exitCode: number | null, exitSignal?: string) => {
        code = exitCode;
        signal = exitSignal;
      });
      channel.on("close", () => resolve({ code, signal, stdout, stderr }));
      channel.end(stdin);
    });
  });
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
