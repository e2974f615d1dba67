import { generateWorkload } from "@deeptrace/shared/workload/generator";
import { describe, expect, it } from "vitest";
import { maxOverlap, meanOverlap, wallTimes } from "./helpers.js";

/** Requests in flight measured from the output: the root Ingress spans of the entry service. */
function measured(concurrency: number, extra: Parameters<typeof generateWorkload>[0] = {}) {
  const { spans, manifest } = generateWorkload({
    topology: "chain",
    concurrency,
    requests: concurrency * 6,
    healthCheckIntervalMs: 0,
    seed: 21,
    ...extra,
  });
  const roots = spans
    .filter((s) => s.truth.parent === null && s.line.doc.tag.ebpf_tag.component === "frontend")
    .map((s) => wallTimes(manifest, s));
  const first = Math.min(...roots.map((r) => r.start));
  const last = Math.max(...roots.map((r) => r.start));
  // Steady state: the middle of the sending phase.
  const from = first + (last - first) * 0.25;
  const to = first + (last - first) * 0.75;
  return {
    max: maxOverlap(roots),
    mean: meanOverlap(roots, from, to),
    manifest,
    roots: roots.length,
  };
}

describe("workload concurrency", () => {
  it.each([50, 500, 2000])("keeps %i requests in flight", (n) => {
    const m = measured(n);
    expect(m.roots).toBe(n * 6);
    expect(m.max).toBeLessThanOrEqual(n);
    expect(m.max).toBeGreaterThanOrEqual(Math.floor(n * 0.97));
    // Between two requests a client spends the network round trip outside the server, so
    // the servers see a little less than the clients' concurrency.
    expect(m.mean).toBeGreaterThan(n * 0.85);
    expect(m.manifest.stats.inFlight.max).toBe(n);
  });

  it("follows the arrival rate in open-loop mode, capped by concurrency", () => {
    const { manifest } = generateWorkload({
      topology: "chain",
      rate: 5000,
      concurrency: 1000,
      requests: 5000,
      seed: 4,
    });
    const seconds = manifest.stats.simulatedNs / 1e9;
    expect(manifest.stats.requestsCompleted).toBe(5000);
    expect(seconds).toBeGreaterThan(0.85);
    expect(seconds).toBeLessThan(1.2);
    // Little's law: rate x latency (a few ms) is far below the cap.
    expect(manifest.stats.inFlight.max).toBeLessThan(200);
    const capped = generateWorkload({
      topology: "chain",
      rate: 100_000,
      concurrency: 20,
      requests: 2000,
      seed: 4,
    });
    expect(capped.manifest.stats.inFlight.max).toBe(20);
  });

  it("stops after the requested duration", () => {
    const { manifest } = generateWorkload({
      topology: "chain",
      concurrency: 10,
      durationSec: 0.2,
      seed: 4,
    });
    expect(manifest.parameters.requests).toBeNull();
    expect(manifest.stats.simulatedNs).toBeGreaterThan(0.2e9);
    expect(manifest.stats.simulatedNs).toBeLessThan(0.25e9);
  });
});
