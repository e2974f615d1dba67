import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const demo = fileURLToPath(new URL("../../tools/demo/dist/demo.js", import.meta.url));

describe("the main job (npm run demo)", () => {
  it("deploys an emulated agent over SSH, runs the whole pipeline on the bundled real spans and reports accuracy >= 0.98", async () => {
    // The integration global setup has started Elasticsearch, NATS and the SSH hosts the
    // demo reads from the infra state files, as scripts/demo.sh would.
    const { stdout } = await run(process.execPath, [demo, "--exit"], {
      timeout: 420_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain("deploying the agent emulator");
    const traces = Number(/== (\d+) traces, (\d+) spans/.exec(stdout)?.[1]);
    const spans = Number(/== (\d+) traces, (\d+) spans/.exec(stdout)?.[2]);
    // rps100: 288 end-to-end requests (plus health checks and fragments), 1604 spans.
    expect(traces).toBeGreaterThanOrEqual(288);
    expect(spans).toBe(1604);
    const accuracy = Number(/^DEMO_E2E_ACCURACY=([\d.]+)$/m.exec(stdout)?.[1]);
    expect(accuracy).toBeGreaterThanOrEqual(0.98);
    expect(stdout).toMatch(
      /grpcurl -plaintext .* deeptrace\.trace\.v1\.TraceAssemblerService\/SearchTraces/,
    );
  }, 480_000);
});
