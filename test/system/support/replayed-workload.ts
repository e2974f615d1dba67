import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { WorkloadManifest } from "@deeptrace/shared/workload/manifest";
import type { WorkloadOptions } from "@deeptrace/shared/workload/options";
import { WORKLOAD_FILES, writeWorkload } from "@deeptrace/shared/workload/writer";

/**
 * A generated workload written where the SSH test user can read it, for emulated agents on
 * the test hosts to replay: generator host k (`spans_node<k>`) is replayed by live agent k,
 * which writes `spans_<live agent>`.
 */
export interface ReplayedWorkload {
  dataset: string;
  manifest: WorkloadManifest;
  /** Live agent names, by generator host position. */
  agents: string[];
  /** Documents per live span index. */
  documentsPerIndex: Map<string, number>;
  /** ground-truth.ndjson lines with generator indices renamed to the live agents' indices. */
  groundTruthLines: string[];
}

export function writeReplayedWorkload(
  options: Partial<WorkloadOptions>,
  dir: string,
  sshUser: string,
  agentName: (position: number) => string,
): ReplayedWorkload {
  const manifest = writeWorkload(options, dir);
  chmodSync(dir, 0o755);
  execFileSync("chown", ["-R", `${sshUser}:`, dir]);
  const agents = manifest.agents.map((_, k) => agentName(k));
  const liveIndex = new Map(manifest.agents.map((a, k) => [a.index, `spans_${agents[k]}`]));
  const rename = (index: string) => {
    const live = liveIndex.get(index);
    if (!live) throw new Error(`the workload names an index that no agent replays: ${index}`);
    return live;
  };
  const truth = readFileSync(join(dir, WORKLOAD_FILES.groundTruth), "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      const t = JSON.parse(line) as { index: string; parent: { index: string } | null };
      t.index = rename(t.index);
      if (t.parent) t.parent.index = rename(t.parent.index);
      return t;
    });
  const documentsPerIndex = new Map<string, number>();
  for (const t of truth) documentsPerIndex.set(t.index, (documentsPerIndex.get(t.index) ?? 0) + 1);
  return {
    dataset: join(dir, WORKLOAD_FILES.spans),
    manifest,
    agents,
    documentsPerIndex,
    groundTruthLines: truth.map((t) => JSON.stringify(t)),
  };
}
