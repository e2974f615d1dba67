/**
 * The FIFO baseline for intra-component links, as the upstream evaluates it: each Egress
 * span, in start order, goes to the earliest-started Ingress span of its process that
 * fully contains it and has not yet been given a child for the same downstream (protocol,
 * server address, endpoint); when every containing parent already has one, to the
 * earliest containing parent. Spans with no containing parent stay unlinked.
 */
import type { Candidates } from "./candidates.js";
import { LINK_INTRA, type Links } from "./links.js";
import type { SpanModel } from "./model.js";

export function fifoLinks(
  model: SpanModel,
  candidates: Candidates,
  links: Links,
  fixed: Int32Array,
): number {
  const { children, offsets, parents, contained } = candidates;
  // (parent, downstream) pairs already used.
  const used = new Set<number>();
  const nDown = model.counts.downstream;
  let linked = 0;
  for (let c = 0; c < children.length; c++) {
    const child = children[c] as number;
    if ((fixed[child] as number) >= 0) continue;
    const down = model.downstream[child] as number;
    let first = -1;
    let free = -1;
    for (let o = offsets[c] as number; o < (offsets[c + 1] as number); o++) {
      if (!contained[o]) continue;
      const g = parents[o] as number;
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
  return linked;
}
