import { generateWorkload } from "@deeptrace/shared/workload/generator";
import { describe, expect, it } from "vitest";

const serialize = (opts: Parameters<typeof generateWorkload>[0]): string => {
  const { spans, manifest } = generateWorkload(opts);
  return `${spans.map((s) => JSON.stringify(s)).join("\n")}\n${JSON.stringify(manifest)}`;
};

describe("workload determinism", () => {
  it("produces byte-identical output for the same seed", () => {
    const opts = { topology: "mixed" as const, concurrency: 40, requests: 300, seed: 7, hosts: 3 };
    expect(serialize(opts)).toBe(serialize(opts));
  });

  it("is deterministic in open-loop (rate) mode and with string seeds", () => {
    const opts = {
      topology: "cache" as const,
      concurrency: 100,
      rate: 2000,
      requests: 200,
      seed: "bench-a",
    };
    expect(serialize(opts)).toBe(serialize(opts));
  });

  it("produces different output for different seeds", () => {
    const a = serialize({ topology: "chain", requests: 50, seed: 1 });
    const b = serialize({ topology: "chain", requests: 50, seed: 2 });
    expect(a).not.toBe(b);
  });

  it("gives every document a unique id", () => {
    const { spans } = generateWorkload({
      topology: "mixed",
      concurrency: 200,
      requests: 1000,
      hosts: 4,
    });
    const ids = new Set(spans.map((s) => `${s.line.index}/${s.line.id}`));
    expect(ids.size).toBe(spans.length);
  });
});
