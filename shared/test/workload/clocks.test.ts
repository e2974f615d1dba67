import { generateWorkload } from "@deeptrace/shared/workload/generator";
import { describe, expect, it } from "vitest";
import { wallTimes } from "./helpers.js";

describe("workload hosts and clocks", () => {
  const { spans, manifest } = generateWorkload({
    topology: "mixed",
    hosts: 5,
    requests: 300,
    concurrency: 30,
    seed: 5,
  });

  it("gives every host a distinct boot time (clock offset = wall - monotonic)", () => {
    expect(manifest.agents).toHaveLength(5);
    const offsets = manifest.agents.map((a) => a.clockOffsetNs);
    expect(new Set(offsets).size).toBe(5);
    for (const a of manifest.agents) {
      expect(a.index).toBe(`spans_${a.agent}`);
      expect(BigInt(a.clockOffsetNs) + BigInt(a.uptimeAtStartNs)).toBe(
        BigInt(manifest.startWallNs),
      );
      expect(a.recordedClockOffsetNs).toBe(a.clockOffsetNs);
      expect(Date.parse(a.bootTime)).toBeLessThan(Date.parse(manifest.parameters.startTime));
    }
  });

  it("writes raw monotonic times that differ between hosts by their offsets", () => {
    const agentsSeen = new Set(spans.map((s) => s.line.index));
    expect(agentsSeen.size).toBe(5);
    const uptimes = new Map(manifest.agents.map((a) => [a.index, a.uptimeAtStartNs]));
    for (const s of spans) {
      const up = uptimes.get(s.line.index) ?? Number.NaN;
      // Every raw time is the host's uptime at the start plus the simulated time.
      expect(s.line.doc.metric.start_time).toBeGreaterThanOrEqual(up);
      expect(s.line.doc.metric.start_time).toBeLessThan(up + manifest.stats.simulatedNs + 1);
      expect(Number.isSafeInteger(s.line.doc.metric.end_time)).toBe(true);
    }
  });

  it("normalises every host to one wall clock with the recorded offsets", () => {
    for (const s of spans) {
      const w = wallTimes(manifest, s);
      expect(w.start).toBeGreaterThanOrEqual(0);
      expect(w.end).toBeLessThanOrEqual(manifest.stats.simulatedNs);
    }
  });

  it("records offset errors when asked to", () => {
    const m = generateWorkload({
      hosts: 3,
      requests: 10,
      clockOffsetErrorUs: 500,
      seed: 5,
    }).manifest;
    const errors = m.agents.map((a) =>
      Number(BigInt(a.recordedClockOffsetNs) - BigInt(a.clockOffsetNs)),
    );
    for (const e of errors) expect(Math.abs(e)).toBeLessThanOrEqual(500_000);
    expect(errors.some((e) => e !== 0)).toBe(true);
  });
});
