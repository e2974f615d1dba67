/**
 * Discrete-event queue: a binary min-heap of callbacks ordered by (time, insertion order).
 * The insertion counter breaks ties, so equal-time events always run in the same order
 * and the simulation stays deterministic.
 */
export class EventQueue {
  private times: number[] = [];
  private seqs: number[] = [];
  private actions: Array<() => void> = [];
  private counter = 0;
  /** Simulation time of the event being run (ns since the start of the run). */
  now = 0;

  get size(): number {
    return this.times.length;
  }

  at(time: number, action: () => void): void {
    if (time < this.now) throw new Error(`event scheduled in the past: ${time} < ${this.now}`);
    const seq = this.counter++;
    let i = this.times.length;
    this.times.push(time);
    this.seqs.push(seq);
    this.actions.push(action);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  after(delay: number, action: () => void): void {
    this.at(this.now + Math.max(0, Math.round(delay)), action);
  }

  /** Runs the earliest event. Returns false when the queue is empty. */
  runNext(): boolean {
    const n = this.times.length;
    if (n === 0) return false;
    const time = this.times[0] as number;
    const action = this.actions[0] as () => void;
    const last = n - 1;
    this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    this.actions.pop();
    let i = 0;
    const size = last;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && this.less(l, m)) m = l;
      if (r < size && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    this.now = time;
    action();
    return true;
  }

  private less(i: number, j: number): boolean {
    const ti = this.times[i] as number;
    const tj = this.times[j] as number;
    return ti < tj || (ti === tj && (this.seqs[i] as number) < (this.seqs[j] as number));
  }

  private swap(i: number, j: number): void {
    const t = this.times[i] as number;
    this.times[i] = this.times[j] as number;
    this.times[j] = t;
    const s = this.seqs[i] as number;
    this.seqs[i] = this.seqs[j] as number;
    this.seqs[j] = s;
    const a = this.actions[i] as () => void;
    this.actions[i] = this.actions[j] as () => void;
    this.actions[j] = a;
  }
}
