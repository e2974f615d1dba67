import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, parseCliArgs } from "@deeptrace/shared/workload/cli";
import { parseGroundTruthLine } from "@deeptrace/shared/workload/ground-truth";
import { resolveOptions, WorkloadOptionError } from "@deeptrace/shared/workload/options";
import { afterAll, describe, expect, it } from "vitest";

function sink() {
  let text = "";
  return {
    stream: {
      write: (s: string) => {
        text += s;
        return true;
      },
    },
    text: () => text,
  };
}

describe("workload CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "workload-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("parses the documented flags", () => {
    const a = parseCliArgs([
      "--topology",
      "fanout",
      "--concurrency",
      "500",
      "--requests",
      "20000",
      "--seed",
      "1",
      "--hosts",
      "3",
      "--transaction-fields",
      "on",
      "--out",
      "X",
    ]);
    expect(a.out).toBe("X");
    expect(a.options).toEqual({
      topology: "fanout",
      concurrency: 500,
      requests: 20000,
      seed: 1,
      hosts: 3,
      transactionFields: true,
    });
    expect(
      parseCliArgs(["--out", "X", "--seed", "abc", "--transaction-fields", "off"]).options,
    ).toEqual({ seed: "abc", transactionFields: false });
  });

  it.each([
    [["--topology", "star", "--out", "X"], "--topology: expected one of"],
    [["--concurrency", "many", "--out", "X"], "--concurrency: not a number"],
    [["--transaction-fields", "maybe", "--out", "X"], "--transaction-fields: expected on or off"],
    [["--requests", "10"], "--out: required"],
    [["--out", "X", "--nope", "1"], "Unknown option '--nope'"],
    [
      ["--out", "X", "--concurrency", "0"],
      "--concurrency: must be an integer in [1, 1000000], got 0",
    ],
    [["--out", "X", "--hosts", "2.5"], "--hosts: must be an integer"],
  ])("rejects %j with a clear error", (argv, message) => {
    const err = sink();
    expect(main(argv, sink().stream, err.stream)).toBe(2);
    expect(err.text()).toContain(message);
  });

  it("writes spans, ground truth and the manifest", () => {
    const out = sink();
    const code = main(
      [
        "--topology",
        "cache",
        "--concurrency",
        "20",
        "--requests",
        "100",
        "--hosts",
        "2",
        "--out",
        dir,
      ],
      out.stream,
      sink().stream,
    );
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^wrote \d+ spans of 100 requests/);
    const spans = readFileSync(join(dir, "spans.ndjson"), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    const truth = readFileSync(join(dir, "ground-truth.ndjson"), "utf8")
      .trimEnd()
      .split("\n")
      .map(parseGroundTruthLine);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(spans.length).toBe(truth.length);
    expect(spans.length).toBe(manifest.stats.spans);
    spans.forEach((s, i) => {
      expect(Object.keys(s)).toEqual(["index", "id", "doc"]);
      expect(truth[i]?.docId).toBe(s.id);
      expect(truth[i]?.index).toBe(s.index);
    });
    expect(manifest.agents.map((a: { index: string }) => a.index)).toEqual([
      "spans_node1",
      "spans_node2",
    ]);
    expect(typeof manifest.agents[0].clockOffsetNs).toBe("string");
    expect(manifest.topology.edges).toContainEqual({
      from: "catalog",
      to: "mysql",
      protocol: "MySQL",
    });
    expect(manifest.parameters.topology).toBe("cache");
  });

  it("validates options when used as a library", () => {
    expect(() => resolveOptions({ rate: -1 })).toThrow(WorkloadOptionError);
    expect(() => resolveOptions({ requests: null })).toThrow(
      "requests: set a request count or a duration",
    );
    expect(resolveOptions({ durationSec: 1 }).requests).toBeNull();
  });
});
