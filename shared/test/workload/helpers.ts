import type { WorkloadManifest } from "@deeptrace/shared/workload/manifest";
import type { WorkloadSpan } from "@deeptrace/shared/workload/simulator";

export const key = (index: string, docId: string): string => `${index}/${docId}`;

export function byKey(spans: WorkloadSpan[]): Map<string, WorkloadSpan> {
  return new Map(spans.map((s) => [key(s.line.index, s.line.id), s]));
}

/** Wall-clock (epoch ns, as a float relative to the run start) of a span's start and end. */
export function wallTimes(
  manifest: WorkloadManifest,
  s: WorkloadSpan,
): { start: number; end: number } {
  const agent = manifest.agents.find((a) => a.index === s.line.index);
  if (!agent) throw new Error(`no agent for ${s.line.index}`);
  // offset - startWall = -uptimeAtStart; keep numbers small to stay exact.
  const rel = Number(BigInt(agent.clockOffsetNs) - BigInt(manifest.startWallNs));
  return { start: s.line.doc.metric.start_time + rel, end: s.line.doc.metric.end_time + rel };
}

export function fourTuple(s: WorkloadSpan): string {
  const t = s.line.doc.tag.ebpf_tag;
  return `${t.protocol} ${t.src_ip}:${t.src_port} ${t.dst_ip}:${t.dst_port}`;
}

/** Largest number of intervals overlapping at one instant (sweep line). */
export function maxOverlap(intervals: Array<{ start: number; end: number }>): number {
  const events: Array<[number, number]> = [];
  for (const i of intervals) {
    events.push([i.start, 1], [i.end, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) {
    cur += d;
    if (cur > max) max = cur;
  }
  return max;
}

/** Time-weighted mean overlap between two instants. */
export function meanOverlap(
  intervals: Array<{ start: number; end: number }>,
  from: number,
  to: number,
): number {
  const events: Array<[number, number]> = [];
  for (const i of intervals) {
    const s = Math.max(i.start, from);
    const e = Math.min(i.end, to);
    if (e > s) events.push([s, 1], [e, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let area = 0;
  let last = from;
  for (const [t, d] of events) {
    area += cur * (t - last);
    last = t;
    cur += d;
  }
  return area / (to - from);
}
