import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ingestDocuments } from "@deeptrace/shared/spans/ingest";
import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../services/trace-assembler/src/engine/assemble.js";

const run = promisify(execFile);
const demo = fileURLToPath(new URL("../../tools/demo/dist/demo.js", import.meta.url));
const dataset = fileURLToPath(new URL("../../../shared/data/rps100-spans.json", import.meta.url));
const readme = fileURLToPath(new URL("../../README.md", import.meta.url));

/**
 * The shell lines of the README's gRPC API example block, in order. The README names the
 * default cache (`~/.cache/deeptrace`); where DEEPTRACE_CACHE moves it, the demo keeps its
 * tokens and grpcurl there, so the lines read that folder instead.
 */
function readmeGrpcurlLines(): string[] {
  const text = readFileSync(readme, "utf8");
  const section = text.slice(text.indexOf("## gRPC API"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  const cache = process.env.DEEPTRACE_CACHE;
  return block
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (cache ? line.replaceAll(/(~|\$HOME)\/\.cache\/deeptrace/g, cache) : line));
}

interface DemoResult {
  stdout: string;
  traces: number;
  spans: number;
  windows: number;
  crossing: number;
  accuracy: number;
}

/** Runs the main job to its end (--exit) and reads its report. */
async function runDemo(env: NodeJS.ProcessEnv = {}): Promise<DemoResult> {
  // The integration global setup has started Elasticsearch, NATS and the SSH hosts; the
  // demo finds them through the infra state files, as after scripts/demo.sh.
  const { stdout } = await run(process.execPath, [demo, "--exit"], {
    env: { ...process.env, ...env },
    timeout: 420_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const totals = /== (\d+) traces, (\d+) spans/.exec(stdout);
  const windows = /from (\d+) windows; (\d+) traces have spans in more than one window/.exec(
    stdout,
  );
  return {
    stdout,
    traces: Number(totals?.[1]),
    spans: Number(totals?.[2]),
    windows: Number(windows?.[1]),
    crossing: Number(windows?.[2]),
    accuracy: Number(/^DEMO_E2E_ACCURACY=([\d.]+)$/m.exec(stdout)?.[1]),
  };
}

describe("the main job (npm run demo)", () => {
  let wholeFile: { traces: number; spans: number };

  beforeAll(() => {
    // The same spans assembled in one piece, with no windows and no services.
    const ingest = ingestDocuments(JSON.parse(readFileSync(dataset, "utf8")).spans, {
      format: "pairs",
      index: "rps100",
    });
    const result = assemble(ingest.spans, { algorithm: "deeptrace" });
    wholeFile = { traces: result.traces.length, spans: ingest.spans.length };
  });

  it("deploys an emulated agent over SSH, runs the whole pipeline on the bundled real spans and reports accuracy >= 0.98", async () => {
    const result = await runDemo();
    expect(result.stdout).toContain("deploying the agent emulator");
    expect(result.spans).toBe(wholeFile.spans);
    expect(result.traces).toBe(wholeFile.traces);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.98);
    expect(result.stdout).toMatch(
      /grpcurl -plaintext .* deeptrace\.trace\.v1\.TraceAssemblerService\/SearchTraces/,
    );
  }, 480_000);

  it("brings traces that cross window boundaries out whole and once, with 5 ms windows", async () => {
    const result = await runDemo({
      DEEPTRACE__SPAN_POLLER__WINDOW_MS: "5",
      DEEPTRACE__SPAN_POLLER__MARGIN_MS: "50",
    });
    expect(result.windows).toBeGreaterThan(20);
    expect(result.crossing).toBeGreaterThanOrEqual(10);
    // Every span stored in exactly one trace, and as many traces as assembling the whole
    // file in one piece gives: no trace split at a boundary, none emitted twice.
    expect(result.spans).toBe(wholeFile.spans);
    expect(result.traces).toBe(wholeFile.traces);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.98);
  }, 480_000);

  it("answers every grpcurl example in the README as written while it runs, then stops everything on Ctrl-C", async () => {
    const lines = readmeGrpcurlLines();
    const commands = lines.filter((l) => l.startsWith("grpcurl "));
    expect(commands.length).toBeGreaterThanOrEqual(10);
    const demoProcess = spawn(process.execPath, [demo], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    demoProcess.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    demoProcess.stderr.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = once(demoProcess, "exit");
    try {
      const deadline = Date.now() + 360_000;
      while (!stdout.includes("Everything keeps running") && Date.now() < deadline) {
        if (demoProcess.exitCode !== null) throw new Error(`the demo exited early:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(stdout).toContain("Everything keeps running");
      // Each line runs as written, after the lines before it (exports and assignments).
      for (const [i, line] of lines.entries()) {
        if (!line.startsWith("grpcurl ")) continue;
        const script = [
          "set -euo pipefail",
          ...lines.slice(0, i).filter((l) => !l.startsWith("grpcurl ")),
          line,
        ];
        const result = await run("bash", ["-c", script.join("\n")], { timeout: 60_000 }).catch(
          (error: { stdout?: string; stderr?: string; message: string }) => {
            throw new Error(`README line failed: ${line}\n${error.stderr || error.message}`);
          },
        );
        expect(result.stdout.trim(), line).not.toBe("");
        if (line.includes("/SearchTraces")) expect(result.stdout).toContain('"traceId"');
        if (line.includes("/GetTrace")) expect(result.stdout).toContain('"spans"');
        if (line.includes("Health/Check")) expect(result.stdout).toContain("SERVING");
      }
    } finally {
      demoProcess.kill("SIGINT");
    }
    const [code] = (await exited) as [number | null];
    expect(code, stdout).toBe(0);
    expect(stdout).toContain("== stopping");
    // Nothing of the demo is left listening.
    await expect(run("bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/50051"])).rejects.toThrow();
  }, 480_000);
});
