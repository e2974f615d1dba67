import type { Secret } from "@deeptrace/shared/config/secret";
import type ssh2 from "ssh2";
import { SshError } from "./errors.js";
import { shellQuote } from "./shell-quote.js";

type Client = InstanceType<typeof ssh2.Client>;

/** How a script is run: as the SSH user, or as root through sudo. */
export type Privilege =
  | { kind: "user" }
  /** sudo reads the password from standard input; it never appears on a command line. */
  | { kind: "sudo_password"; password: Secret }
  /** A NOPASSWD sudo rule: sudo must not ask (`-n`), and fails instead. */
  | { kind: "sudo_nopasswd" };

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs: number;
  privilege?: Privilege;
  /** Called with each complete output line as it arrives (for streamed logs). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  signal?: AbortSignal | undefined;
}

const KEEP_BYTES = 64 * 1024;

/**
 * The command line sent to the host. Under sudo the script runs as `sh -c <script>` with
 * its standard input closed first, so the password line sudo reads from stdin can never
 * reach the script; `-k` makes sudo ignore cached credentials so it always reads that line.
 */
export function commandLine(script: string, privilege: Privilege): string {
  switch (privilege.kind) {
    case "user":
      return script;
    case "sudo_password":
      return `sudo -k -S -p '' -- sh -c ${shellQuote(`exec </dev/null; ${script}`)}`;
    case "sudo_nopasswd":
      return `sudo -n -- sh -c ${shellQuote(`exec </dev/null; ${script}`)}`;
  }
}

/**
 * Runs a POSIX shell script on the host and resolves with its exit status and (bounded)
 * output. Success is the caller's judgement of the exit code; stderr text is never parsed.
 */
export function runRemote(
  client: Client,
  script: string,
  options: RunOptions,
): Promise<CommandResult> {
  const privilege = options.privilege ?? { kind: "user" };
  return new Promise<CommandResult>((resolve, reject) => {
    client.exec(commandLine(script, privilege), (error, channel) => {
      if (error) {
        reject(new SshError("disconnected", `cannot open a command channel: ${error.message}`));
        return;
      }
      const out = { stdout: "", stderr: "" };
      const partial = { stdout: "", stderr: "" };
      let exitCode: number | null = null;
      let exitSignal: string | null = null;
      let finished = false;
      const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
        const text = chunk.toString("utf8");
        out[stream] = (out[stream] + text).slice(-KEEP_BYTES);
        if (!options.onLine) return;
        const lines = (partial[stream] + text).split("\n");
        partial[stream] = lines.pop() ?? "";
        for (const line of lines) options.onLine(line, stream);
      };
      const finish = (failure?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (failure) {
          channel.close();
          reject(failure);
          return;
        }
        for (const stream of ["stdout", "stderr"] as const) {
          if (partial[stream] && options.onLine) options.onLine(partial[stream], stream);
        }
        resolve({ exitCode, signal: exitSignal, ...out });
      };
      const timer = setTimeout(
        () =>
          finish(new SshError("timeout", `command did not finish within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      const onAbort = () => finish(new SshError("timeout", "command cancelled"));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      channel.on("data", collect("stdout"));
      channel.stderr.on("data", collect("stderr"));
      channel.on("exit", (code: number | null, signalName?: string) => {
        exitCode = code;
        exitSignal = signalName ?? null;
      });
      channel.on("close", () => {
        // No exit status and no signal: the connection went away under the command.
        if (exitCode === null && exitSignal === null) {
          finish(new SshError("disconnected", "the connection closed before the command finished"));
        } else finish();
      });
      if (privilege.kind === "sudo_password") channel.write(`${privilege.password.reveal()}\n`);
      channel.end();
    });
  });
}
