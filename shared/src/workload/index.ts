export type { AgentDocument, DockerTag, EbpfTag, SpanLine } from "./agent-document.js";
export { createWorkload, generateWorkload, type Workload } from "./generator.js";
export {
  type GroundTruthLine,
  indexForAgent,
  parseGroundTruthLine,
  type SpanRef,
} from "./ground-truth.js";
export type { WorkloadManifest } from "./manifest.js";
export {
  DEFAULT_OPTIONS,
  resolveOptions,
  WorkloadOptionError,
  type WorkloadOptions,
} from "./options.js";
export type { WorkloadSpan, WorkloadStats } from "./simulator.js";
export { TOPOLOGY_NAMES, type TopologyName } from "./topology.js";
export { WORKLOAD_FILES, writeWorkload } from "./writer.js";
