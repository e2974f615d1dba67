import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { SpanSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { beforeAll, describe, expect, it } from "vitest";
import {
  cutWindows,
  type WorkloadSpans,
  workloadSpans,
} from "../../services/trace-assembler/src/bench/workload-windows.js";
import { grpcurlPath } from "../support/infrastructure.js";
import type { RunningService } from "../support/service-process.js";
import {
  assemblerTestFile,
  documentCount,
  expectedTraces,
  publishWindows,
  startAssembler,
  waitFor,
  waitForLog,
  writeConfig,
} from "./support/harness.js";

const run = promisify(execFile);
const file = assemblerTestFile("grpc", { stop: () => service?.stop() });
const { es, setup } = file;
const TOKEN = "viewer-token-for-the-grpc-test";
let service: RunningService;
let workload: WorkloadSpans;
let expectedCount: number;

interface TraceJson {
  traceId: string;
  rootSpanId: string;
  startTimeNs?: string;
  durationNs?: string;
  services?: string[];
  error?: boolean;
  spans: Array<{ spanId: string; parentSpanId?: string }>;
}

/** grpcurl reads the request from stdin with `-d @`. */
async function call(method: string, body: unknown): Promise<Record<string, unknown>> {
  const child = execFile(
    grpcurlPath(),
    [
      "-plaintext",
      "-H",
      `authorization: Bearer ${TOKEN}`,
      "-max-msg-sz",
      String(64 * 1024 * 1024),
      "-d",
      "@",
      service.grpc,
      `deeptrace.trace.v1.TraceAssemblerService/${method}`,
    ],
    { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c) => {
    stdout += c;
  });
  child.stderr?.on("data", (c) => {
    stderr += c;
  });
  child.stdin?.end(JSON.stringify(body));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`grpcurl ${method} exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Parent of every span, by trace: the shape two assemblies must agree on. */
function structure(traces: TraceJson[]) {
  return traces
    .map((t) => ({
      traceId: t.traceId,
      rootSpanId: t.rootSpanId,
      links: t.spans.map((s) => `${s.spanId}<-${s.parentSpanId ?? ""}`).sort(),
    }))
    .sort((a, b) => (a.traceId < b.traceId ? -1 : 1));
}

describe("the gRPC API through grpcurl", () => {
  beforeAll(async () => {
    workload = workloadSpans({ requests: 120, rate: 200, seed: "grpc" });
    // One window over all spans: DeepTrace learns its statistics from the batch it is given,
    // so only the same batch must give the same links as the CLI run over the whole file.
    const windows = cutWindows(workload.spans, 60_000_000_000n, 0n, "grpc");
    expect(windows).toHaveLength(1);
    expectedCount = expectedTraces(windows).size;
    const config = writeConfig(setup, {
      extra: `[auth]\nenabled = true\n[[auth.tokens]]\nname = "tester"\nrole = "viewer"\ntoken = "env:DT_GRPC_TEST_TOKEN"\n`,
    });
    service = await startAssembler(config, { DT_GRPC_TEST_TOKEN: TOKEN });
    await waitForLog(service, '"consuming windows"');
    await publishWindows(file.nc, setup, windows);
    await waitFor(
      async () => (await documentCount(es, `${setup.prefix}-traces`)) === expectedCount,
      "every trace written",
    );
  });

  it("SearchTraces pages through every trace, and the result matches the engine CLI on the same spans", async () => {
    const found: TraceJson[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await call("SearchTraces", { pageSize: 40, pageToken });
      expect(Number(page.total)).toBe(expectedCount);
      found.push(...((page.traces ?? []) as TraceJson[]));
      pageToken = String(page.nextPageToken ?? "");
      pages++;
    } while (pageToken);
    expect(pages).toBe(Math.ceil(expectedCount / 40));
    expect(new Set(found.map((t) => t.traceId)).size).toBe(expectedCount);
    const starts = found.map((t) => BigInt(t.startTimeNs ?? "0"));
    expect(starts).toEqual([...starts].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));

    const input = join(setup.dir, "spans.ndjson");
    writeFileSync(input, `${workload.documents.map((d) => JSON.stringify(d)).join("\n")}\n`);
    const offsets = join(setup.dir, "offsets.json");
    writeFileSync(
      offsets,
      JSON.stringify(
        Object.fromEntries([...workload.clockOffsetsNs].map(([a, o]) => [a, String(o)])),
      ),
    );
    const out = join(setup.dir, "cli-traces.ndjson");
    await run(process.execPath, [
      "services/trace-assembler/dist/cli/deeptrace.js",
      "assemble",
      "--input",
      input,
      "--clock-offsets",
      offsets,
      "--out",
      out,
    ]);
    const cli = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as TraceJson);
    expect(structure(found)).toEqual(structure(cli));
  });

  it("SearchTraces filters by service, duration and status, and rejects a token reused with other filters", async () => {
    const all = (await call("SearchTraces", { pageSize: 500 })).traces as TraceJson[];
    const service0 = (all[0]?.services ?? [])[0] as string;
    const byService = (await call("SearchTraces", { service: service0, pageSize: 500 }))
      .traces as TraceJson[];
    expect(byService.length).toBe(all.filter((t) => t.services?.includes(service0)).length);
    const durations = all.map((t) => BigInt(t.durationNs ?? "0")).sort((a, b) => (a < b ? -1 : 1));
    const median = durations[Math.floor(durations.length / 2)] as bigint;
    const slow = (await call("SearchTraces", { minDurationNs: String(median), pageSize: 500 }))
      .traces as TraceJson[] | undefined;
    expect((slow ?? []).length).toBe(durations.filter((d) => d >= median).length);
    const errors = (await call("SearchTraces", { status: "error", pageSize: 500 })).traces as
      | TraceJson[]
      | undefined;
    expect((errors ?? []).length).toBe(all.filter((t) => t.error === true).length);
    const first = await call("SearchTraces", { pageSize: 5 });
    await expect(
      call("SearchTraces", { pageSize: 5, service: service0, pageToken: first.nextPageToken }),
    ).rejects.toThrow(/InvalidArgument[\s\S]*other filters/);
  });

  it("GetTrace returns a stored trace and NOT_FOUND for an unknown id", async () => {
    const [one] = (await call("SearchTraces", { pageSize: 1 })).traces as TraceJson[];
    const got = (await call("GetTrace", { traceId: one?.traceId })).trace as TraceJson;
    expect(got).toEqual(one);
    await expect(call("GetTrace", { traceId: "no-such-trace" })).rejects.toThrow(/NotFound/);
  });

  it("GetServiceGraph sums the per-window documents into nodes and edges", async () => {
    const graph = (await call("GetServiceGraph", {})).graph as {
      nodes: Array<{ service: string; spanCount: string }>;
      edges: Array<{
        source: string;
        target: string;
        callCount: string;
        latency?: { p50Ns?: string };
      }>;
    };
    const spanTotal = graph.nodes.reduce((sum, n) => sum + Number(n.spanCount), 0);
    expect(spanTotal).toBe(await documentCount(es, `${setup.prefix}-spans`));
    expect(graph.edges.length).toBeGreaterThan(0);
    for (const edge of graph.edges) {
      expect(Number(edge.callCount)).toBeGreaterThan(0);
      expect(BigInt(edge.latency?.p50Ns ?? "0")).toBeGreaterThan(0n);
    }
  });

  it("AssembleSpans assembles the request's spans without storing them", async () => {
    const before = await documentCount(es, `${setup.prefix}-traces`);
    const response = await call("AssembleSpans", {
      spans: workload.spans.map((s) => toJson(SpanSchema, s)),
      algorithm: "ALGORITHM_DEEPTRACE",
    });
    const traces = response.traces as TraceJson[];
    expect(traces.length).toBe(expectedCount);
    expect(await documentCount(es, `${setup.prefix}-traces`)).toBe(before);
  });

  it("GetStats reports the windows, spans and traces this instance processed", async () => {
    const stats = await call("GetStats", {});
    expect(Number(stats.windowsProcessed)).toBeGreaterThan(0);
    expect(Number(stats.tracesWritten)).toBe(expectedCount);
    expect(Number(stats.spansPerSecond)).toBeGreaterThan(0);
    expect(stats.pendingWindows ?? "0").toBe("0");
  });
});
