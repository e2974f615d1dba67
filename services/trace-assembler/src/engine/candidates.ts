/**
 * Candidate parents for intra-component links: for each Egress span, the Ingress spans of
 * the same process that were open when it started (parent start <= child start <= parent
 * end). Same host, same clock.
 *
 * The child's end is deliberately not required to fall inside the parent: agents pair a
 * request with the wrong response now and then (the real rps100 capture has a connection
 * where every response is shifted by one request), which moves the child's end but never
 * its start. Whether the child also ends inside the parent is kept as a flag and used as
 * a feature (and as the strict rule of the FIFO baseline).
 *
 * One sweep per process over spans sorted by start with an active list of open Ingress
 * spans: O(spans x open parents), with the candidate list per child capped at
 * `maxCandidates` (the most recently started parents win the cap).
 */
import { EGRESS, groupBy, INGRESS, type SpanModel } from "./model.js";

export interface Candidates {
  /** Egress spans (model indices) in canonical order, with or without candidates. */
  children: Int32Array;
  /** Candidates of children[c] are parents[offsets[c] .. offsets[c + 1]). */
  offsets: Int32Array;
  parents: Int32Array;
  /** 1 when the child also ends inside the parent. */
  contained: Uint8Array;
}

export function findCandidates(model: SpanModel, maxCandidates: number): Candidates {
  const { direction, start, end, effectiveEnd } = model;
  const byProcess = groupBy(model.process, model.counts.process, (i) => direction[i] !== 0);
  const children: number[] = [];
  const offsets: number[] = [0];
  const parents: number[] = [];
  const contained: number[] = [];
  const active: number[] = [];
  for (let p = 0; p < model.counts.process; p++) {
    const from = byProcess.offsets[p] as number;
    const to = byProcess.offsets[p + 1] as number;
    active.length = 0;
    for (let m = from; m < to; m++) {
      const i = byProcess.members[m] as number;
      if (direction[i] === INGRESS) {
        active.push(i);
        continue;
      }
      if (direction[i] !== EGRESS) continue;
      const s = start[i] as number;
      // Drop parents that ended before this child started (they end before later children too).
      let w = 0;
      for (let a = 0; a < active.length; a++) {
        const g = active[a] as number;
        if ((end[g] as number) >= s) active[w++] = g;
      }
      active.length = w;
      children.push(i);
      // Members are in start order, so every active parent started at or before s; ties
      // in start time with the child are allowed only for spans ordered before it.
      const first = Math.max(0, active.length - maxCandidates);
      for (let a = first; a < active.length; a++) {
        const g = active[a] as number;
        parents.push(g);
        contained.push((effectiveEnd[i] as number) <= (end[g] as number) ? 1 : 0);
      }
      offsets.push(parents.length);
    }
  }
  return {
    children: Int32Array.from(children),
    offsets: Int32Array.from(offsets),
    parents: Int32Array.from(parents),
    contained: Uint8Array.from(contained),
  };
}
