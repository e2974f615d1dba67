/**
 * The FIFO baseline for intra-component links, as the upstream evaluates it: each Egress
 * span, in start order, goes to the earliest-started Ingress span of its process that
 * fully contains it and has not yet been given a child for the same downstream (protocol,
 * server address, endpoint); when every containing parent already has one, to the
 * earliest containing parent. Spans with no containing parent stay unlinked.
 *
 * One sweep per process over its spans in start order with the list of open parents.
 */
import { LINK_INTRA, type Links } from "./links.js";
import { EGRESS, groupBy, INGRESS, type SpanModel } from "./model.js";

export function fifoLinks(model: SpanModel, links: Links, fixed: Int32Array): number {
  const { direction, start, end, effectiveEnd } = model;
  const byProcess = groupBy(model.process, model.counts.process, (i) => direction[i] !== 0);
  // (parent, downstream) pairs already used.
  const used = new Set<number>();
  const nDown = model.counts.downstream;
  let linked = 0;
  let active: number[] = [];
  for (let p = 0; p < model.counts.process; p++) {
    const from = byProcess.offsets[p] as number;
    const to = byProcess.offsets[p + 1] as number;
    active = [];
    let compactAt = 64;
    for (let m = from; m < to; m++) {
      const child = byProcess.members[m] as number;
      if (direction[child] === INGRESS) {
        active.push(child);
        continue;
      }
      if (direction[child] !== EGRESS || (fixed[child] as number) >= 0) continue;
      const s = start[child] as number;
      if (active.length > compactAt) {
        active = active.filter((g) => (end[g] as number) >= s);
        compactAt = Math.max(64, active.length * 2);
      }
      const e = effectiveEnd[child] as number;
      const down = model.downstream[child] as number;
      let first = -1;
      let free = -1;
      for (const g of active) {
        if ((end[g] as number) < e) continue;
        if (first === -1) first = g;
        if (!used.has(g * nDown + down)) {
          free = g;
          break;
        }
      }
      const chosen = free >= 0 ? free : first;
      if (chosen < 0) continue;
      used.add(chosen * nDown + down);
      links.set(child, chosen, LINK_INTRA, free >= 0 ? 1 : 0.5);
      linked++;
    }
  }
  return linked;
}
