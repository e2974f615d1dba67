/**
 * DeepTrace's candidate features (deeptrace.ts lists them), kept factored instead of as
 * a candidate x feature matrix: a feature whose value is shared by many candidates is
 * stored once where it is shared, and so is its logarithm, which the score needs.
 *
 *   fields     per candidate, with its logarithm (computed once, not every round)
 *   affinity   per endpoint pair
 *   t1 .. size per (endpoint pair, distribution, bin): each candidate keeps its four bins;
 *              the table is neutral (0.5) in round 0 and re-estimated every later round
 *   thread     per candidate a same-thread flag (value 1), else the child's process value
 *   contained  per candidate a flag (value 0 or 1)
 *
 * Values are float32 as they were in the matrix (the weights compare them for equality),
 * logarithms float64 of those values. The static features' best and worst values per
 * child, which the weights read every round, are found once.
 */
import type { Candidates } from "./candidates.js";
import type { SpanModel } from "./model.js";
import { requestScopedThreads } from "./thread-scope.js";

export const FEATURES = [
  "fields",
  "affinity",
  "t1",
  "t2",
  "duration",
  "size",
  "thread",
  "contained",
] as const;
export const F = FEATURES.length;
const F_FIELDS = 0;
const F_AFF = 1;
const F_THREAD = 6;
const F_CONT = 7;
/** Features that do not change between rounds, in the order of their per-child statistics. */
const STATIC = [F_FIELDS, F_AFF, F_THREAD, F_CONT] as const;
/** The learned distributions: t1, t2, duration, size (features 2..5). */
export const DENSITIES = 4;
const D_FIRST = 2;
export const BINS = 64;
/** Entries per endpoint pair in the density tables. */
export const PAIR_STRIDE = DENSITIES * BINS;
const AFFINITY_BUCKETS = 64;

/** Floor of a feature inside the logarithm: how much one absent feature can cost. */
const EPSILON = 0.01;
const LOG_LOW = Math.log(EPSILON);
const LOG_RANGE = Math.log(1 + EPSILON) - LOG_LOW;
const LOG_ONE = Math.log(EPSILON + 1);
const LOG_ZERO = Math.log(EPSILON + 0);
const NEUTRAL = 0.5;
/** Floor of a density in the likelihood ratio: one unseen bin does not veto a candidate. */
const DENSITY_FLOOR = 0.01;

/** Signed log binning around the middle bin. */
function logBin(x: number, scale: number, resolution: number): number {
  const v = Math.log2(1 + Math.abs(x) / scale) * resolution;
  const b = x >= 0 ? 32 + Math.floor(v) : 31 - Math.floor(v);
  return b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
}

function ratioBin(a: number, b: number): number {
  const v = Math.floor(Math.log2((a + 1) / (b + 1)) * 3);
  const bin = 32 + v;
  return bin < 0 ? 0 : bin >= BINS ? BINS - 1 : bin;
}

export class CandidateFeatures {
  readonly C: number;
  readonly nChildren: number;
  /** Endpoint pair (parent service, parent endpoint, child downstream) per candidate. */
  readonly pairOf: Int32Array;
  readonly nPairs: number;
  /** Density bins per candidate: DENSITIES consecutive entries. */
  readonly bins: Uint8Array;
  private readonly cand: Candidates;
  private readonly logFields: Float64Array;
  private readonly affinity: Float32Array;
  private readonly logAffinity: Float64Array;
  private readonly sameThread: Uint8Array;
  /** Thread feature of a child's candidates on another thread, per child. */
  private readonly threadOther: Float32Array;
  private readonly logThreadOther: Float64Array;
  /** Current density values (float32) and their logarithms, per pair x PAIR_STRIDE. */
  private readonly density: Float32Array;
  private readonly logDensity: Float64Array;
  /** Density table entries some candidate reads. */
  private readonly usedEntries: Int32Array;
  /** Per child and static feature: highest and lowest value, and how many candidates have the highest. */
  private readonly staticHi: Float32Array;
  private readonly staticLo: Float32Array;
  private readonly staticTies: Int32Array;

  constructor(model: SpanModel, cand: Candidates) {
    const { children, offsets, parents, fields } = cand;
    const C = parents.length;
    const nChildren = children.length;
    this.cand = cand;
    this.C = C;
    this.nChildren = nChildren;
    const { start, end, effectiveEnd, thread, reqSize } = model;

    const pairs = internPairs(model, cand);
    this.pairOf = pairs.pairOf;
    this.nPairs = pairs.count;
    const { pairOf } = this;
    this.affinity = Float32Array.from(endpointAffinity(model, pairs.parentKey, pairs.childKey));
    this.logAffinity = Float64Array.from(this.affinity, (v) => Math.log(EPSILON + v));

    const scoped = requestScopedThreads(model);
    this.threadOther = new Float32Array(nChildren);
    this.logThreadOther = new Float64Array(nChildren);
    this.logFields = new Float64Array(C);
    this.sameThread = new Uint8Array(C);
    this.bins = new Uint8Array(C * DENSITIES);
    const { bins, logFields, sameThread } = this;
    for (let c = 0; c < nChildren; c++) {
      const child = children[c] as number;
      this.threadOther[c] = 1 - (scoped[model.process[child] as number] as number);
      this.logThreadOther[c] = Math.log(EPSILON + (this.threadOther[c] as number));
      const childStart = start[child] as number;
      const childEnd = effectiveEnd[child] as number;
      const childThread = thread[child] as number;
      const childSize = reqSize[child] as number;
      for (let o = offsets[c] as number; o < (offsets[c + 1] as number); o++) {
        const g = parents[o] as number;
        // Most candidates share no field: the logarithm of the floor, computed once.
        const share = fields[o] as number;
        logFields[o] = share === 0 ? LOG_ZERO : Math.log(EPSILON + Math.min(1, share));
        sameThread[o] = thread[g] === childThread ? 1 : 0;
        const b = o * DENSITIES;
        bins[b] = logBin(childStart - (start[g] as number), 1000, 3);
        bins[b + 1] = logBin((end[g] as number) - childEnd, 1000, 3);
        bins[b + 2] = ratioBin(childEnd - childStart, (end[g] as number) - (start[g] as number));
        bins[b + 3] = ratioBin(childSize, reqSize[g] as number);
      }
    }

    const entries = this.nPairs * PAIR_STRIDE;
    this.density = new Float32Array(entries);
    this.logDensity = new Float64Array(entries);
    const used = new Uint8Array(entries);
    let nUsed = 0;
    for (let o = 0; o < C; o++) {
      const base = (pairOf[o] as number) * PAIR_STRIDE;
      for (let d = 0; d < DENSITIES; d++) {
        const at = base + d * BINS + (bins[o * DENSITIES + d] as number);
        if (used[at] === 0) nUsed++;
        used[at] = 1;
      }
    }
    this.usedEntries = new Int32Array(nUsed);
    for (let at = 0, k = 0; at < entries; at++) if (used[at] === 1) this.usedEntries[k++] = at;
    this.neutralDensities();

    this.staticHi = new Float32Array(nChildren * STATIC.length);
    this.staticLo = new Float32Array(nChildren * STATIC.length);
    this.staticTies = new Int32Array(nChildren * STATIC.length);
    for (let c = 0; c < nChildren; c++) {
      const from = offsets[c] as number;
      const to = offsets[c + 1] as number;
      for (let s = 0; s < STATIC.length; s++) {
        const f = STATIC[s] as number;
        let hi = Number.NEGATIVE_INFINITY;
        let lo = Number.POSITIVE_INFINITY;
        let ties = 0;
        for (let o = from; o < to; o++) {
          const v = this.value(f, c, o);
          if (v > hi) {
            hi = v;
            ties = 1;
          } else if (v === hi) ties++;
          if (v < lo) lo = v;
        }
        const j = c * STATIC.length + s;
        this.staticHi[j] = hi;
        this.staticLo[j] = lo;
        this.staticTies[j] = ties;
      }
    }
  }

  /** Round 0: the distribution features say nothing yet. */
  neutralDensities(): void {
    this.density.fill(NEUTRAL);
    this.logDensity.fill(Math.log(EPSILON + NEUTRAL));
  }

  /**
   * Density features: the likelihood ratio r of the candidate's bin under the chosen
   * links' distribution and under all candidates' (the background), as r / (1 + r). A
   * value the chosen parents show no more often than candidates in general (0.5) says
   * nothing; so a candidate set that leans towards recent parents does not teach the
   * engine that parents are recent.
   */
  applyDensities(chosen: Float64Array, background: Float64Array): void {
    const { density, logDensity, usedEntries } = this;
    for (let k = 0; k < usedEntries.length; k++) {
      const at = usedEntries[k] as number;
      const r =
        ((chosen[at] as number) + DENSITY_FLOOR) / ((background[at] as number) + DENSITY_FLOOR);
      density[at] = r / (1 + r);
      logDensity[at] = Math.log(EPSILON + (density[at] as number));
    }
  }

  /** Value (0..1, float32) of feature f for candidate o of child c. */
  value(f: number, c: number, o: number): number {
    switch (f) {
      case F_FIELDS:
        return Math.min(1, this.cand.fields[o] as number);
      case F_AFF:
        return this.affinity[this.pairOf[o] as number] as number;
      case F_THREAD:
        return this.sameThread[o] === 1 ? 1 : (this.threadOther[c] as number);
      case F_CONT:
        return this.cand.contained[o] as number;
      default:
        return this.density[this.densityAt(o, f - D_FIRST)] as number;
    }
  }

  private densityAt(o: number, d: number): number {
    return (
      (this.pairOf[o] as number) * PAIR_STRIDE + d * BINS + (this.bins[o * DENSITIES + d] as number)
    );
  }

  /**
   * Scores of the candidates of child c into `out`: the weighted sum of the features'
   * logarithms (a weighted naive-Bayes product), mapped monotonically onto 0..1. In the
   * log domain one feature that clearly singles out a parent (a shared transaction field)
   * is not outvoted by small differences in the others. Candidate o's score goes to
   * out[o]. Returns the best score (0 without candidates).
   */
  scoreChild(weights: Float64Array, c: number, out: Float64Array): number {
    const { pairOf, bins, logFields, logAffinity, logDensity, sameThread } = this;
    const { offsets, contained } = this.cand;
    const w0 = weights[0] as number;
    const w1 = weights[1] as number;
    const w2 = weights[2] as number;
    const w3 = weights[3] as number;
    const w4 = weights[4] as number;
    const w5 = weights[5] as number;
    const w6 = weights[6] as number;
    const w7 = weights[7] as number;
    const logOther = this.logThreadOther[c] as number;
    let best = 0;
    for (let o = offsets[c] as number; o < (offsets[c + 1] as number); o++) {
      const p = pairOf[o] as number;
      const base = p * PAIR_STRIDE;
      const b = o * DENSITIES;
      // Summed in feature order, as one loop over the features would.
      let s = 0;
      s += w0 * (logFields[o] as number);
      s += w1 * (logAffinity[p] as number);
      s += w2 * (logDensity[base + (bins[b] as number)] as number);
      s += w3 * (logDensity[base + BINS + (bins[b + 1] as number)] as number);
      s += w4 * (logDensity[base + 2 * BINS + (bins[b + 2] as number)] as number);
      s += w5 * (logDensity[base + 3 * BINS + (bins[b + 3] as number)] as number);
      s += w6 * (sameThread[o] === 1 ? LOG_ONE : logOther);
      s += w7 * (contained[o] === 1 ? LOG_ONE : LOG_ZERO);
      const v = (s - LOG_LOW) / LOG_RANGE;
      const score = v < 0 ? 0 : Math.min(v, 1);
      out[o] = score;
      if (score > best) best = score;
    }
    return best;
  }

  /** Round 0: each feature's weight is its mean spread across the candidates of a child. */
  separationWeights(weights: Float64Array): void {
    const { offsets } = this.cand;
    weights.fill(0);
    let n = 0;
    for (let c = 0; c < this.nChildren; c++) {
      if ((offsets[c + 1] as number) - (offsets[c] as number) < 2) continue;
      n++;
      for (let s = 0; s < STATIC.length; s++) {
        const j = c * STATIC.length + s;
        const f = STATIC[s] as number;
        weights[f] =
          (weights[f] as number) + ((this.staticHi[j] as number) - (this.staticLo[j] as number));
      }
      // The distribution features are neutral (a spread of 0) in round 0.
    }
    normalise(weights, n);
  }

  /**
   * Later rounds: a feature's weight is how much more often than chance its best candidate
   * is the chosen parent, over children with a real choice.
   */
  agreementWeights(chosen: Int32Array, weights: Float64Array): void {
    const { offsets } = this.cand;
    const { density, pairOf, bins } = this;
    const agree = new Float64Array(F);
    let chance = 0;
    let count = 0;
    for (let c = 0; c < this.nChildren; c++) {
      const from = offsets[c] as number;
      const to = offsets[c + 1] as number;
      const pick = chosen[c] as number;
      if (to - from < 2 || pick < 0) continue;
      const k = to - from;
      count += 1;
      chance += 1 / k;
      for (let s = 0; s < STATIC.length; s++) {
        const j = c * STATIC.length + s;
        const f = STATIC[s] as number;
        const top = this.staticHi[j] as number;
        // A feature that cannot tell the candidates apart says nothing.
        if (top === (this.staticLo[j] as number)) agree[f] = (agree[f] as number) + 1 / k;
        else if (this.value(f, c, pick) === top)
          agree[f] = (agree[f] as number) + 1 / (this.staticTies[j] as number);
      }
      // The distribution features, one at a time (the candidates stay in cache), their
      // highest and lowest value and ties in locals.
      for (let d = 0; d < DENSITIES; d++) {
        const at = d * BINS;
        let h = Number.NEGATIVE_INFINITY;
        let l = Number.POSITIVE_INFINITY;
        let ties = 0;
        for (let o = from; o < to; o++) {
          const v = density[
            (pairOf[o] as number) * PAIR_STRIDE + at + (bins[o * DENSITIES + d] as number)
          ] as number;
          if (v > h) {
            h = v;
            ties = 1;
          } else if (v === h) ties++;
          if (v < l) l = v;
        }
        const f = D_FIRST + d;
        if (h === l) agree[f] = (agree[f] as number) + 1 / k;
        else if ((density[this.densityAt(pick, d)] as number) === h)
          agree[f] = (agree[f] as number) + 1 / ties;
      }
    }
    for (let f = 0; f < F; f++) {
      const skill = count - chance > 0 ? ((agree[f] as number) - chance) / (count - chance) : 0;
      weights[f] = skill > 0 ? skill * skill : 0;
    }
    normalise(weights, 1);
  }
}

function normalise(weights: Float64Array, n: number) {
  let sum = 0;
  for (let f = 0; f < F; f++) sum += weights[f] as number;
  if (n === 0 || sum <= 0) {
    // No child has a choice to make: any weighting gives the same links.
    weights.fill(1 / F);
    return;
  }
  for (let f = 0; f < F; f++) weights[f] = (weights[f] as number) / sum;
}

/**
 * Endpoint pairs (parent service, parent endpoint, child downstream), interned in
 * candidate order, with the traffic keys endpointAffinity compares per pair: the parent's
 * (service, endpoint) and the (service, downstream) of the pair's last candidate's child.
 */
function internPairs(model: SpanModel, cand: Candidates) {
  const { children, offsets, parents } = cand;
  const { service, endpoint, downstream } = model;
  const nEp = model.counts.endpoint;
  const nDown = model.counts.downstream;
  // (service, endpoint) of each candidate parent, interned once per parent span.
  const seOf = new Int32Array(model.n).fill(-1);
  const seIds = new Map<number, number>();
  const seKey: number[] = [];
  for (let o = 0; o < parents.length; o++) {
    const g = parents[o] as number;
    if ((seOf[g] as number) >= 0) continue;
    const key = (service[g] as number) * nEp + (endpoint[g] as number);
    let id = seIds.get(key);
    if (id === undefined) {
      id = seIds.size;
      seIds.set(key, id);
      seKey.push(key);
    }
    seOf[g] = id;
  }
  // (service-endpoint id, downstream) -> pair id: a dense table while it is small.
  const cells = seIds.size * nDown;
  const dense = cells <= 1 << 22 ? new Int32Array(cells).fill(-1) : undefined;
  const sparse = new Map<number, number>();
  const pairOf = new Int32Array(parents.length);
  const parentKey: number[] = [];
  const childKey: number[] = [];
  for (let c = 0; c < children.length; c++) {
    const child = children[c] as number;
    const down = downstream[child] as number;
    const ck = (service[child] as number) * nDown + down;
    for (let o = offsets[c] as number; o < (offsets[c + 1] as number); o++) {
      const se = seOf[parents[o] as number] as number;
      const cell = se * nDown + down;
      let id = dense ? (dense[cell] as number) : (sparse.get(cell) ?? -1);
      if (id < 0) {
        id = parentKey.length;
        if (dense) dense[cell] = id;
        else sparse.set(cell, id);
        parentKey.push(seKey[se] as number);
        childKey.push(ck);
      }
      pairOf[o] = id;
      childKey[id] = ck;
    }
  }
  return { pairOf, count: parentKey.length, parentKey, childKey };
}

/**
 * Endpoint-pair affinity per pair id: cosine similarity of the parent endpoint's and the
 * child downstream's traffic (span counts) over AFFINITY_BUCKETS equal time buckets of
 * the batch, counted per service. `parentKey` is service x endpoints + endpoint,
 * `childKey` service x downstreams + downstream, per pair.
 */
function endpointAffinity(
  model: SpanModel,
  parentKey: readonly number[],
  childKey: readonly number[],
): Float64Array {
  const { start, service, endpoint, downstream, n } = model;
  const nPairs = parentKey.length;
  const result = new Float64Array(nPairs);
  if (n === 0) return result;
  const width = Math.max(
    1e6,
    ((start[n - 1] as number) - (start[0] as number) + 1) / AFFINITY_BUCKETS,
  );
  const parentVectors = new Map<number, Float64Array>();
  const childVectors = new Map<number, Float64Array>();
  for (let p = 0; p < nPairs; p++) {
    const pk = parentKey[p] as number;
    const ck = childKey[p] as number;
    if (!parentVectors.has(pk)) parentVectors.set(pk, new Float64Array(AFFINITY_BUCKETS));
    if (!childVectors.has(ck)) childVectors.set(ck, new Float64Array(AFFINITY_BUCKETS));
  }
  const nEp = model.counts.endpoint;
  const nDown = model.counts.downstream;
  for (let i = 0; i < n; i++) {
    const vec =
      model.direction[i] === 1
        ? parentVectors.get((service[i] as number) * nEp + (endpoint[i] as number))
        : childVectors.get((service[i] as number) * nDown + (downstream[i] as number));
    if (!vec) continue;
    const b = Math.min(AFFINITY_BUCKETS - 1, Math.floor((start[i] as number) / width));
    vec[b] = (vec[b] as number) + 1;
  }
  for (let p = 0; p < nPairs; p++) {
    const a = parentVectors.get(parentKey[p] as number) as Float64Array;
    const b = childVectors.get(childKey[p] as number) as Float64Array;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let k = 0; k < AFFINITY_BUCKETS; k++) {
      dot += (a[k] as number) * (b[k] as number);
      na += (a[k] as number) ** 2;
      nb += (b[k] as number) ** 2;
    }
    result[p] = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  }
  return result;
}
