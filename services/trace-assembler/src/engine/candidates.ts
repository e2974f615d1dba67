/**
 * Candidate parents for intra-component links: for each Egress span, Ingress spans of the
 * same process that were open when it started (parent start <= child start <= parent
 * end). Same host, same clock.
 *
 * The child's end is deliberately not required to fall inside the parent: agents pair a
 * request with the wrong response now and then (the real rps100 capture has a connection
 * where every response is shifted by one request), which moves the child's end but never
 * its start. Whether the child also ends inside the parent is kept as a flag and used as
 * a feature.
 *
 * With hundreds of requests in flight a process has hundreds of open parents, so not all
 * of them are candidates. One sweep per process over its spans in start order keeps the
 * open parents and proposes, per child:
 *   - every open parent sharing a transaction field (a rare token, payload-tokens.ts) with
 *     the child, found through an inverted index from token to open parents, with the
 *     share of the child's transaction-field mass the parent has (`fields`, 0..1);
 *   - the open parent that last started on the child's thread;
 *   - the `recent` most recently started open parents;
 *   - the FIFO baseline's choice (fifo-pick.ts), flagged (`fifo`).
 * Closed parents leave the open list lazily and the index both lazily (a lookup unlinks
 * the closed parents of the token it reads) and by a rebuild whenever the index has
 * doubled since the last one: tokens no child ever looks up again (a request's unique id
 * after the request ended) would otherwise stay forever. Each rebuild costs the entries it
 * finds and at least half of them were added since the previous one, so the sweep stays
 * linear in the spans times the (bounded) tokens and candidates per span. The index lives
 * in typed arrays (open addressing over token hashes, posting lists as linked entries), so
 * it allocates no object per token or per entry.
 */
import { FifoPicker } from "./fifo-pick.js";
import { EGRESS, groupBy, INGRESS, type SpanModel } from "./model.js";
import type { SpanTokens } from "./payload-tokens.js";

export interface Candidates {
  /** Egress spans (model indices) in canonical order, with or without candidates. */
  children: Int32Array;
  /** Candidates of children[c] are parents[offsets[c] .. offsets[c + 1]). */
  offsets: Int32Array;
  parents: Int32Array;
  /** 1 when the child also ends inside the parent. */
  contained: Uint8Array;
  /** Share of the child's transaction-field (rare token) mass found in the parent, 0..1. */
  fields: Float32Array;
  /** 1 for the parent the FIFO baseline would choose. */
  fifo: Uint8Array;
}

/** A token shared by more open parents than this says nothing about any one of them. */
const POSTING_LIMIT = 64;
/** Smallest index: entries and table slots. */
const INDEX_MIN = 1 << 12;

/**
 * Inverted index from token hash to the open parents whose payloads carry it: an
 * open-addressing table of tokens, each the head of a linked list of entries (parent
 * model indices, newest first).
 */
class TokenIndex {
  private keys = new Uint32Array(INDEX_MIN);
  private heads = new Int32Array(INDEX_MIN).fill(-2);
  private tokens = 0;
  private parent = new Int32Array(INDEX_MIN);
  private next = new Int32Array(INDEX_MIN);
  private entries = 0;
  /** The arrays the last rebuild replaced, reused by the next one when the sizes match. */
  private spare = {
    keys: new Uint32Array(0),
    heads: new Int32Array(0),
    parent: new Int32Array(0),
    next: new Int32Array(0),
  };

  constructor(private readonly end: Float64Array) {}

  clear(): void {
    if (this.heads.length === INDEX_MIN) this.heads.fill(-2);
    else {
      this.keys = new Uint32Array(INDEX_MIN);
      this.heads = new Int32Array(INDEX_MIN).fill(-2);
    }
    this.tokens = 0;
    this.entries = 0;
  }

  /** Table slot of `key`: where it is, or the empty slot (head -2) where it would go. */
  private slot(key: number): number {
    const mask = this.heads.length - 1;
    let t = (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
    while (this.heads[t] !== -2 && this.keys[t] !== key) t = (t + 1) & mask;
    return t;
  }

  /** Add open parent `g` (started at `now`) under `key`. */
  add(key: number, g: number, now: number): void {
    if (this.entries === this.parent.length || (this.tokens + 1) * 2 > this.heads.length) {
      this.rebuild(now);
    }
    const t = this.slot(key);
    if (this.heads[t] === -2) {
      this.keys[t] = key;
      this.heads[t] = -1;
      this.tokens++;
    }
    const e = this.entries++;
    this.parent[e] = g;
    this.next[e] = this.heads[t] as number;
    this.heads[t] = e;
  }

  /**
   * The parents under `key` still open at `now` into `out` (closed ones are unlinked);
   * returns how many, or -1 when there are more than `limit`.
   */
  open(key: number, now: number, out: Int32Array, limit: number): number {
    const t = this.slot(key);
    let e = this.heads[t] as number;
    if (e < 0) return 0;
    const { end, parent, next } = this;
    let prev = -1;
    let w = 0;
    while (e >= 0) {
      const g = parent[e] as number;
      if ((end[g] as number) < now) {
        if (prev < 0) this.heads[t] = next[e] as number;
        else next[prev] = next[e] as number;
      } else {
        if (w < limit) out[w] = g;
        w++;
        prev = e;
      }
      e = next[e] as number;
    }
    return w > limit ? -1 : w;
  }

  /**
   * Rebuild without the parents that ended before `now`: they end before every later
   * child starts. Grows the arrays so that at least half is free afterwards.
   */
  private rebuild(now: number): void {
    const { keys, heads, parent, next, end } = this;
    let live = 0;
    let liveTokens = 0;
    for (let t = 0; t < heads.length; t++) {
      let any = false;
      for (let e = heads[t] as number; e >= 0; e = next[e] as number) {
        if ((end[parent[e] as number] as number) >= now) {
          live++;
          any = true;
        }
      }
      if (any) liveTokens++;
    }
    let size = INDEX_MIN;
    while (size < liveTokens * 4) size <<= 1;
    let capacity = INDEX_MIN;
    while (capacity < live * 2) capacity <<= 1;
    const spare = this.spare;
    this.keys = spare.keys.length === size ? spare.keys : new Uint32Array(size);
    this.heads = spare.heads.length === size ? spare.heads.fill(-2) : new Int32Array(size).fill(-2);
    this.parent = spare.parent.length === capacity ? spare.parent : new Int32Array(capacity);
    this.next = spare.next.length === capacity ? spare.next : new Int32Array(capacity);
    this.spare = { keys, heads, parent, next };
    this.tokens = 0;
    this.entries = 0;
    for (let t = 0; t < heads.length; t++) {
      let at = -1;
      for (let e = heads[t] as number; e >= 0; e = next[e] as number) {
        const g = parent[e] as number;
        if ((end[g] as number) < now) continue;
        if (at < 0) {
          at = this.slot(keys[t] as number);
          this.keys[at] = keys[t] as number;
          this.heads[at] = -1;
          this.tokens++;
        }
        // Append, keeping the newest-first order of the list.
        const n = this.entries++;
        this.parent[n] = g;
        this.next[n] = -1;
        if (this.heads[at] === -1) this.heads[at] = n;
        else this.next[n - 1] = n;
      }
    }
  }
}

/** Growable typed-array column. */
class Column<T extends Int32Array | Float32Array | Uint8Array> {
  length = 0;
  constructor(public data: T) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new (this.data.constructor as new (n: number) => T)(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  /** The values, without a copy (the spare capacity is let go with them). */
  done(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

export function findCandidates(model: SpanModel, tokens: SpanTokens, recent: number): Candidates {
  const { direction, start, end, effectiveEnd, thread } = model;
  const byProcess = groupBy(model.process, model.counts.process, (i) => direction[i] !== 0);
  // Candidates per child: about the recent ones, its thread's and FIFO's (growing a
  // column allocates it again, twice the size).
  let egress = 0;
  for (let i = 0; i < model.n; i++) if (direction[i] === EGRESS) egress++;
  const guess = Math.max(16, egress * (recent + 2));
  const children = new Column(new Int32Array(Math.max(16, model.n >> 1)));
  const offsets = new Column(new Int32Array(Math.max(16, model.n >> 1)));
  const parents = new Column(new Int32Array(guess));
  const contained = new Column(new Uint8Array(guess));
  const fields = new Column(new Float32Array(guess));
  const fifo = new Column(new Uint8Array(guess));
  const picker = new FifoPicker(end, model.counts.downstream);
  offsets.push(0);
  // Per-child scratch: which parents were proposed (stamp) and at which slot.
  const stamp = new Int32Array(model.n).fill(-1);
  const slotOf = new Int32Array(model.n);
  const index = new TokenIndex(end);
  const open = new Int32Array(POSTING_LIMIT);
  const onThread = new Map<number, number>();
  let active: number[] = [];
  for (let p = 0; p < model.counts.process; p++) {
    const from = byProcess.offsets[p] as number;
    const to = byProcess.offsets[p + 1] as number;
    active = [];
    let compactAt = 64;
    index.clear();
    onThread.clear();
    picker.reset();
    for (let m = from; m < to; m++) {
      const i = byProcess.members[m] as number;
      if (direction[i] === INGRESS) {
        active.push(i);
        picker.addParent(i);
        onThread.set(thread[i] as number, i);
        for (let t = tokens.offsets[i] as number; t < (tokens.offsets[i + 1] as number); t++) {
          index.add(tokens.ids[t] as number, i, start[i] as number);
        }
        continue;
      }
      if (direction[i] !== EGRESS) continue;
      const s = start[i] as number;
      if (active.length > compactAt) {
        // Parents that ended before this child started end before later children too.
        active = active.filter((g) => (end[g] as number) >= s);
        compactAt = Math.max(64, active.length * 2);
      }
      const first = parents.length;
      const propose = (g: number): number => {
        if (stamp[g] === i) return slotOf[g] as number;
        stamp[g] = i;
        const slot = parents.length;
        slotOf[g] = slot;
        parents.push(g);
        contained.push((effectiveEnd[i] as number) <= (end[g] as number) ? 1 : 0);
        fields.push(0);
        fifo.push(0);
        return slot;
      };
      // Transaction fields through the inverted index.
      const mass = tokens.mass[i] as number;
      for (let t = tokens.offsets[i] as number; t < (tokens.offsets[i + 1] as number); t++) {
        const w = index.open(tokens.ids[t] as number, s, open, POSTING_LIMIT);
        if (w <= 0) continue;
        const share = (tokens.idf[t] as number) / mass;
        for (let k = 0; k < w; k++) {
          const slot = propose(open[k] as number);
          fields.data[slot] = (fields.data[slot] as number) + share;
        }
      }
      // The parent that last started on this thread.
      const same = onThread.get(thread[i] as number);
      if (same !== undefined && (end[same] as number) >= s) propose(same);
      // FIFO's choice.
      const fifoParent = picker.pick(s, effectiveEnd[i] as number, model.downstream[i] as number);
      if (fifoParent >= 0) fifo.data[propose(fifoParent)] = 1;
      // The most recently started open parents.
      let taken = 0;
      for (let a = active.length - 1; a >= 0 && taken < recent; a--) {
        const g = active[a] as number;
        if ((end[g] as number) < s) continue;
        propose(g);
        taken++;
      }
      // Canonical order of a child's candidates: by parent index.
      sortSlice(parents.data, contained.data, fields.data, fifo.data, first, parents.length);
      children.push(i);
      offsets.push(parents.length);
    }
  }
  return {
    children: children.done(),
    offsets: offsets.done(),
    parents: parents.done(),
    contained: contained.done(),
    fields: fields.done(),
    fifo: fifo.done(),
  };
}

/** Insertion sort of parallel slices by parent index (a child has few candidates). */
function sortSlice(
  parents: Int32Array,
  contained: Uint8Array,
  fields: Float32Array,
  fifo: Uint8Array,
  from: number,
  to: number,
): void {
  for (let a = from + 1; a < to; a++) {
    const g = parents[a] as number;
    const c = contained[a] as number;
    const f = fields[a] as number;
    const q = fifo[a] as number;
    let b = a - 1;
    while (b >= from && (parents[b] as number) > g) {
      parents[b + 1] = parents[b] as number;
      contained[b + 1] = contained[b] as number;
      fields[b + 1] = fields[b] as number;
      fifo[b + 1] = fifo[b] as number;
      b--;
    }
    parents[b + 1] = g;
    contained[b + 1] = c;
    fields[b + 1] = f;
    fifo[b + 1] = q;
  }
}
