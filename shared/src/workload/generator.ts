import { buildManifest, type WorkloadManifest } from "./manifest.js";
import { resolveOptions, type WorkloadOptions } from "./options.js";
import { Simulation, type WorkloadSpan } from "./simulator.js";

/** A workload ready to be generated: stream its spans once, then read its manifest. */
export interface Workload {
  readonly options: WorkloadOptions;
  /** Spans in completion order, each with its ground truth. Iterable once. */
  spans(): Generator<WorkloadSpan>;
  /** Agents, clock offsets, topology and parameters; stats are final once spans() is exhausted. */
  manifest(): WorkloadManifest;
}

/**
 * Creates a deterministic workload: the same options (seed included) always yield the same
 * spans, byte for byte. Options are validated here (WorkloadOptionError names the option).
 */
export function createWorkload(options: Partial<WorkloadOptions> = {}): Workload {
  const resolved = resolveOptions(options);
  const sim = new Simulation(resolved);
  return {
    options: resolved,
    spans: () => sim.run(),
    manifest: () => buildManifest(sim),
  };
}

/** Generates a whole workload in memory (for tests and small runs). */
export function generateWorkload(options: Partial<WorkloadOptions> = {}): {
  spans: WorkloadSpan[];
  manifest: WorkloadManifest;
} {
  const w = createWorkload(options);
  const spans = [...w.spans()];
  return { spans, manifest: w.manifest() };
}
