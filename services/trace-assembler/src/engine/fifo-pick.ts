/**
 * The FIFO baseline's choice (fifo.ts), computed incrementally inside the candidate sweep
 * of one process: the earliest-started open Ingress span that contains the Egress span and
 * has not yet been given a child for the same downstream. DeepTrace proposes it as a
 * candidate and prefers it among candidates its features cannot tell apart, so where
 * payloads and threads carry no information it falls back to FIFO's order instead of an
 * arbitrary one.
 *
 * Unlike fifo.ts, a child whose containing parents all have a child for its downstream
 * gets no pick (DeepTrace's own candidates cover it). Per downstream a cursor skips the
 * prefix of parents that are used for it or ended before an earlier child of it started,
 * so a child scans only the parents from the oldest still available one on.
 */
export class FifoPicker {
  /** Ingress spans of the process in start order. */
  private readonly parents: number[] = [];
  private readonly cursor = new Map<number, number>();
  /** parent * downstreams + downstream for every (parent, downstream) already given a child. */
  private readonly used = new Set<number>();

  constructor(
    private readonly end: Float64Array,
    private readonly downstreams: number,
  ) {}

  /** Starts a new process. */
  reset(): void {
    this.parents.length = 0;
    this.cursor.clear();
    this.used.clear();
  }

  /** An Ingress span of the process, in start order. */
  addParent(g: number): void {
    this.parents.push(g);
  }

  /**
   * FIFO's parent for a child starting at `start` and ending at `childEnd` that calls
   * `downstream`, marked as used; -1 when no containing parent is free.
   */
  pick(start: number, childEnd: number, downstream: number): number {
    const { parents, end, used } = this;
    const key = (g: number) => g * this.downstreams + downstream;
    let k = this.cursor.get(downstream) ?? 0;
    // Parents ended before this child started end before every later child of it starts.
    while (k < parents.length) {
      const g = parents[k] as number;
      if ((end[g] as number) >= start && !used.has(key(g))) break;
      k++;
    }
    this.cursor.set(downstream, k);
    for (; k < parents.length; k++) {
      const g = parents[k] as number;
      if ((end[g] as number) < childEnd || used.has(key(g))) continue;
      used.add(key(g));
      return g;
    }
    return -1;
  }
}
