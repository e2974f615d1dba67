import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export type ServiceName = "agent-manager" | "span-poller" | "trace-assembler";

// shared/src/service or shared/dist/service: the repository root is three levels up.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The built entry point of a service, as its container runs it. */
export function serviceEntry(name: ServiceName): string {
  return `${repoRoot}services/${name}/dist/main.js`;
}

export interface RunningService {
  name: ServiceName;
  process: ChildProcess;
  /** gRPC host:port the service bound. */
  grpc: string;
  /** HTTP host:port of /metrics and /healthz. */
  http: string;
  /** Every line the process wrote to stdout and stderr so far. */
  output: string[];
  /** SIGTERM, then wait for exit; resolves to the exit code (null when ended by a signal). */
  stop(): Promise<number | null>;
  /** Resolves once /healthz answers 200 (dependencies connected); rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
}

export interface StartServiceOptions {
  config?: string;
  /** Entry point to run instead of the service's dist/main.js in this checkout. */
  entry?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the "service started" log line. */
  timeoutMs?: number;
}

/**
 * Starts a service as its own process (as the demo and the integration tests run them) with ports picked by the OS, and resolves once it
 * logged "service started" with its bound addresses. Rejects with the process output if it
 * exits or does not start in time.
 */
export async function startService(
  name: ServiceName,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const section = name.replace("-", "_").toUpperCase();
  const child = spawn(
    process.execPath,
    [options.entry ?? serviceEntry(name), ...(options.config ? ["--config", options.config] : [])],
    {
      env: {
        ...process.env,
        [`DEEPTRACE__${section}__LISTEN`]: "127.0.0.1:0",
        [`DEEPTRACE__${section}__HTTP_LISTEN`]: "127.0.0.1:0",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  const started = new Promise<{ grpc: string; http: string }>((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      if (!line.includes('"service started"')) return;
      const record = JSON.parse(line) as { grpc: string; http: string };
      resolve({ grpc: record.grpc, http: record.http });
    };
    collectLines(child.stdout, onLine);
    collectLines(child.stderr, (line) => output.push(line));
    child.once("exit", (code) =>
      reject(new Error(`${name} exited with ${code} before starting:\n${output.join("\n")}`)),
    );
    setTimeout(
      () => reject(new Error(`${name} did not start in time:\n${output.join("\n")}`)),
      options.timeoutMs ?? 30_000,
    ).unref();
  });
  try {
    const addresses = await started;
    return {
      name,
      process: child,
      ...addresses,
      output,
      ready: (timeoutMs = 60_000) => waitForHealthz(name, addresses.http, timeoutMs, output),
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        const [code] = (await exited) as [number | null];
        return code;
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** Runs a service to completion (for start-up failures); resolves to its exit code and output. */
export async function runServiceToExit(
  name: ServiceName,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [serviceEntry(name), ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

async function waitForHealthz(
  name: ServiceName,
  http: string,
  timeoutMs: number,
  output: string[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${http}/healthz`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} was not ready within ${timeoutMs} ms (${last}):\n${output.join("\n")}`);
}

function collectLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      onLine(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
    }
  });
}
