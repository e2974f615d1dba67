/**
 * DeepTrace intra-component linking: which Ingress span of a process caused each of its
 * Egress spans.
 *
 * Every (parent, child) candidate gets features on one 0..1 scale:
 *   fields     transaction-field similarity: the share of the child's rare-token (IDF)
 *              mass, request and response, found in the parent's payloads (ids and
 *              arguments propagate with requests, results flow back up)
 *   affinity   endpoint-pair affinity: cosine of the two endpoints' traffic over time
 *              buckets (a parent endpoint that calls a downstream rises and falls with it)
 *   t1, t2     delay from the parent's start to the child's start, and from the child's
 *              end to the parent's end, as likelihood ratios: the learned distribution of
 *              the endpoint pair over the distribution among all its candidates
 *   duration   child/parent duration ratio, likewise per endpoint pair
 *   size       child/parent request size ratio, likewise per endpoint pair
 *   thread     same thread id: 1 on the same thread, else 1 minus the share of the
 *              process's Ingress spans that run on a thread of their own
 *              (thread-scope.ts): a thread-per-request server tells the parent by its
 *              thread, a goroutine runtime or an event loop does not
 *   contained  the child also ends inside the parent
 * Endpoint pairs are (parent service, parent endpoint, child downstream), so replicas of
 * one service learn together.
 *
 * The score is a weighted sum of the features' logarithms; the FIFO baseline's choice
 * (fifo-pick.ts) gets a small head start, so candidates the features cannot tell apart
 * are taken in FIFO's order. Round 0 weighs features by how much they separate the
 * candidates of a child, with the distribution features neutral (nothing is learned yet;
 * the background distributions come from all candidates, each child's candidates sharing
 * one unit of weight). Each later round re-estimates the
 * distributions from the chosen links, re-weighs each feature by how much better than
 * chance it agrees with the chosen parents, learns per endpoint pair how many calls one
 * parent makes to the downstream, and selects again: children in descending order of
 * their best score, each taking its best candidate that is still under its learned
 * number of children per downstream (a child whose candidates are all full takes its best
 * one anyway). Everything is linear in the number of candidates except one sort of the
 * children per round.
 */
import type { Candidates } from "./candidates.js";
import { LINK_INTRA, type Links } from "./links.js";
import type { SpanModel } from "./model.js";
import { requestScopedThreads } from "./thread-scope.js";

export interface DeepTraceOptions {
  /** Re-estimation rounds after the initial selection. */
  rounds: number;
}

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
const F = FEATURES.length;
const F_FIELDS = 0;
const F_AFF = 1;
const F_T1 = 2;
const F_T2 = 3;
const F_DUR = 4;
const F_SIZE = 5;
const F_THREAD = 6;
const F_CONT = 7;
/** The learned distributions: t1, t2, duration, size. */
const DENSITIES = [F_T1, F_T2, F_DUR, F_SIZE] as const;
const BINS = 64;
const AFFINITY_BUCKETS = 64;

export interface DeepTraceStats {
  /** Final feature weights (summing to 1), by feature name. */
  weights: Record<(typeof FEATURES)[number], number>;
  linked: number;
  /** Children whose every candidate was at its learned capacity. */
  overCapacity: number;
}

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

export function deepTraceLinks(
  model: SpanModel,
  cand: Candidates,
  links: Links,
  fixed: Int32Array,
  options: DeepTraceOptions,
): DeepTraceStats {
  const { children, offsets, parents, contained, fields } = cand;
  const C = parents.length;
  const { start, end, effectiveEnd, thread, reqSize, endpoint, downstream, service } = model;

  // Endpoint pairs (parent service, parent endpoint, child downstream), interned in candidate order.
  const pairOf = new Int32Array(C);
  const pairIds = new Map<number, number>();
  const nEp = model.counts.endpoint;
  const nDown = model.counts.downstream;
  const childOf = new Int32Array(C);
  for (let c = 0; c < children.length; c++) {
    const child = children[c] as number;
    for (let o = offsets[c] as number; o < (offsets[c + 1] as number); o++) {
      const g = parents[o] as number;
      childOf[o] = c;
      const key =
        ((service[g] as number) * nEp + (endpoint[g] as number)) * nDown +
        (downstream[child] as number);
      let id = pairIds.get(key);
      if (id === undefined) {
        id = pairIds.size;
        pairIds.set(key, id);
      }
      pairOf[o] = id;
    }
  }
  const nPairs = pairIds.size;
  const slots = capacitySlots(parents, pairOf, model.n, nPairs);
  const scratch: SelectScratch = {
    score: new Float64Array(C),
    keys: new Float64Array(children.length),
    used: new Int32Array(slots.count),
  };

  // Static features and density bins.
  const x = new Float32Array(C * F);
  const bins = new Uint8Array(C * DENSITIES.length);
  const affinity = endpointAffinity(model, cand, pairOf, nPairs);
  const scoped = requestScopedThreads(model);
  for (let o = 0; o < C; o++) {
    const child = children[childOf[o] as number] as number;
    const g = parents[o] as number;
    const row = o * F;
    x[row + F_FIELDS] = Math.min(1, fields[o] as number);
    x[row + F_AFF] = affinity[pairOf[o] as number] as number;
    x[row + F_THREAD] =
      thread[g] === thread[child] ? 1 : 1 - (scoped[model.process[child] as number] as number);
    x[row + F_CONT] = contained[o] as number;
    const b = o * DENSITIES.length;
    bins[b] = logBin((start[child] as number) - (start[g] as number), 1000, 3);
    const childEnd = effectiveEnd[child] as number;
    bins[b + 1] = logBin((end[g] as number) - childEnd, 1000, 3);
    bins[b + 2] = ratioBin(
      childEnd - (start[child] as number),
      (end[g] as number) - (start[g] as number),
    );
    bins[b + 3] = ratioBin(reqSize[child] as number, reqSize[g] as number);
  }

  const hist = new Float64Array(nPairs * DENSITIES.length * BINS);
  const background = new Float64Array(hist.length);
  const chosen = new Int32Array(children.length).fill(-1); // candidate index per child
  const weights = new Float64Array(F);
  const capacity = new Int32Array(nPairs).fill(0x7fffffff);
  let overCapacity = 0;

  // Background distributions: all candidates, one unit of weight per child. Round 0 has
  // nothing else to compare them with, so the density features are neutral there.
  for (let c = 0; c < children.length; c++) {
    const from = offsets[c] as number;
    const to = offsets[c + 1] as number;
    if (to === from) continue;
    const w = 1 / (to - from);
    for (let o = from; o < to; o++) addToHistograms(background, bins, pairOf, o, w);
  }
  const backgroundDensity = densities(background);
  for (let o = 0; o < C; o++) for (const d of DENSITIES) x[o * F + d] = 0.5;
  separationWeights(x, offsets, children.length, weights);

  for (let round = 0; round <= options.rounds; round++) {
    if (round > 0) {
      hist.fill(0);
      for (let c = 0; c < children.length; c++) {
        const o = chosen[c] as number;
        if (o >= 0) addToHistograms(hist, bins, pairOf, o, 1);
      }
      applyDensities(x, bins, pairOf, densities(hist), backgroundDensity, C);
      agreementWeights(x, offsets, chosen, children.length, weights);
      learnCapacity(chosen, slots, nPairs, capacity, scratch.used);
    }
    overCapacity = select(x, weights, cand, pairOf, slots, capacity, fixed, chosen, scratch);
  }

  let linked = 0;
  for (let c = 0; c < children.length; c++) {
    const o = chosen[c] as number;
    if (o < 0) continue;
    links.set(children[c] as number, parents[o] as number, LINK_INTRA, scoreOf(x, weights, o));
    linked++;
  }
  const named = {} as DeepTraceStats["weights"];
  FEATURES.forEach((f, k) => {
    named[f] = weights[k] as number;
  });
  return { weights: named, linked, overCapacity };
}

/** Floor of a feature inside the logarithm: how much one absent feature can cost. */
const EPSILON = 0.01;
const LOG_LOW = Math.log(EPSILON);
const LOG_RANGE = Math.log(1 + EPSILON) - LOG_LOW;

/**
 * Weighted sum of the features' logarithms (a weighted naive-Bayes product), mapped
 * monotonically onto 0..1. In the log domain one feature that clearly singles out a
 * parent (a shared transaction field) is not outvoted by small differences in the others.
 */
function scoreOf(x: Float32Array, weights: Float64Array, o: number): number {
  let s = 0;
  const row = o * F;
  for (let f = 0; f < F; f++)
    s += (weights[f] as number) * Math.log(EPSILON + (x[row + f] as number));
  const v = (s - LOG_LOW) / LOG_RANGE;
  return v < 0 ? 0 : Math.min(v, 1);
}

function addToHistograms(
  hist: Float64Array,
  bins: Uint8Array,
  pairOf: Int32Array,
  o: number,
  w: number,
): void {
  const base = (pairOf[o] as number) * DENSITIES.length * BINS;
  for (let d = 0; d < DENSITIES.length; d++) {
    const at = base + d * BINS + (bins[o * DENSITIES.length + d] as number);
    hist[at] = (hist[at] as number) + w;
  }
}

/** Lightly smoothed histograms, each normalised to sum 1. */
function densities(hist: Float64Array): Float64Array {
  const nHist = hist.length / BINS;
  const smooth = new Float64Array(hist.length);
  for (let h = 0; h < nHist; h++) {
    const base = h * BINS;
    let sum = 0;
    for (let b = 0; b < BINS; b++) {
      const left = b > 0 ? (hist[base + b - 1] as number) : 0;
      const right = b < BINS - 1 ? (hist[base + b + 1] as number) : 0;
      const v = (hist[base + b] as number) + 0.25 * (left + right);
      smooth[base + b] = v;
      sum += v;
    }
    if (sum > 0)
      for (let b = 0; b < BINS; b++) smooth[base + b] = (smooth[base + b] as number) / sum;
  }
  return smooth;
}

/** Floor of a density in the likelihood ratio: one unseen bin does not veto a candidate. */
const DENSITY_FLOOR = 0.01;

/**
 * Density features: the likelihood ratio r of the candidate's bin under the chosen links'
 * distribution and under all candidates' (the background), as r / (1 + r). A value the
 * chosen parents show no more often than candidates in general (0.5) says nothing; so a
 * candidate set that leans towards recent parents does not teach the engine that parents
 * are recent.
 */
function applyDensities(
  x: Float32Array,
  bins: Uint8Array,
  pairOf: Int32Array,
  chosen: Float64Array,
  background: Float64Array,
  C: number,
) {
  for (let o = 0; o < C; o++) {
    const base = (pairOf[o] as number) * DENSITIES.length * BINS;
    for (let d = 0; d < DENSITIES.length; d++) {
      const at = base + d * BINS + (bins[o * DENSITIES.length + d] as number);
      const r =
        ((chosen[at] as number) + DENSITY_FLOOR) / ((background[at] as number) + DENSITY_FLOOR);
      x[o * F + (DENSITIES[d] as number)] = r / (1 + r);
    }
  }
}

/** Round 0: weigh each feature by its mean spread across the candidates of a child. */
function separationWeights(
  x: Float32Array,
  offsets: Int32Array,
  nChildren: number,
  weights: Float64Array,
) {
  weights.fill(0);
  let n = 0;
  for (let c = 0; c < nChildren; c++) {
    const from = offsets[c] as number;
    const to = offsets[c + 1] as number;
    if (to - from < 2) continue;
    n++;
    for (let f = 0; f < F; f++) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let o = from; o < to; o++) {
        const v = x[o * F + f] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      weights[f] = (weights[f] as number) + (hi - lo);
    }
  }
  normalise(weights, n);
}

/**
 * Later rounds: a feature's weight is how much more often than chance its best candidate
 * is the chosen parent, over children with a real choice.
 */
function agreementWeights(
  x: Float32Array,
  offsets: Int32Array,
  chosen: Int32Array,
  nChildren: number,
  weights: Float64Array,
) {
  const agree = new Float64Array(F);
  const chance = new Float64Array(F);
  const count = new Float64Array(F);
  for (let c = 0; c < nChildren; c++) {
    const from = offsets[c] as number;
    const to = offsets[c + 1] as number;
    const pick = chosen[c] as number;
    if (to - from < 2 || pick < 0) continue;
    const k = to - from;
    for (let f = 0; f < F; f++) {
      let hi = Number.NEGATIVE_INFINITY;
      let lo = Number.POSITIVE_INFINITY;
      let ties = 0;
      for (let o = from; o < to; o++) {
        const v = x[o * F + f] as number;
        if (v > hi) {
          hi = v;
          ties = 1;
        } else if (v === hi) ties++;
        if (v < lo) lo = v;
      }
      count[f] = (count[f] as number) + 1;
      chance[f] = (chance[f] as number) + 1 / k;
      // A feature that cannot tell the candidates apart says nothing.
      if (hi === lo) {
        agree[f] = (agree[f] as number) + 1 / k;
        continue;
      }
      if ((x[pick * F + f] as number) === hi) agree[f] = (agree[f] as number) + 1 / ties;
    }
  }
  for (let f = 0; f < F; f++) {
    const cnt = count[f] as number;
    const ch = chance[f] as number;
    const skill = cnt - ch > 0 ? ((agree[f] as number) - ch) / (cnt - ch) : 0;
    weights[f] = skill > 0 ? skill * skill : 0;
  }
  normalise(weights, 1);
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
 * (parent, endpoint pair) capacity slots: candidates with the same parent and pair share
 * a slot, the unit the learned call multiplicity limits. `of` is the slot per candidate,
 * `pair` the endpoint pair per slot.
 */
interface CapacitySlots {
  of: Int32Array;
  pair: Int32Array;
  count: number;
}

function capacitySlots(
  parents: Int32Array,
  pairOf: Int32Array,
  n: number,
  nPairs: number,
): CapacitySlots {
  const C = parents.length;
  // Candidates grouped by parent (counting sort), then numbered by pair within a parent.
  const start = new Int32Array(n + 1);
  for (let o = 0; o < C; o++) {
    const g = (parents[o] as number) + 1;
    start[g] = (start[g] as number) + 1;
  }
  for (let g = 0; g < n; g++) start[g + 1] = (start[g + 1] as number) + (start[g] as number);
  const fill = start.slice(0, n);
  const byParent = new Int32Array(C);
  for (let o = 0; o < C; o++) {
    const g = parents[o] as number;
    byParent[fill[g] as number] = o;
    fill[g] = (fill[g] as number) + 1;
  }
  const of = new Int32Array(C);
  const pair = new Int32Array(C);
  const lastParent = new Int32Array(nPairs).fill(-1);
  const slotOfPair = new Int32Array(nPairs);
  let count = 0;
  for (let k = 0; k < C; k++) {
    const o = byParent[k] as number;
    const g = parents[o] as number;
    const p = pairOf[o] as number;
    if (lastParent[p] !== g) {
      lastParent[p] = g;
      slotOfPair[p] = count;
      pair[count++] = p;
    }
    of[o] = slotOfPair[p] as number;
  }
  return { of, pair: pair.slice(0, count), count };
}

/**
 * Calls a parent makes per downstream, per endpoint pair: the 95th percentile of the
 * chosen children counts over parents that made at least one such call.
 */
function learnCapacity(
  chosen: Int32Array,
  slots: CapacitySlots,
  nPairs: number,
  capacity: Int32Array,
  perSlot: Int32Array,
) {
  perSlot.fill(0);
  for (let c = 0; c < chosen.length; c++) {
    const o = chosen[c] as number;
    if (o < 0) continue;
    const k = slots.of[o] as number;
    perSlot[k] = (perSlot[k] as number) + 1;
  }
  // The non-zero slot counts grouped by pair (counting sort), each group sorted.
  const start = new Int32Array(nPairs + 1);
  for (let k = 0; k < slots.count; k++) {
    if ((perSlot[k] as number) === 0) continue;
    const p = (slots.pair[k] as number) + 1;
    start[p] = (start[p] as number) + 1;
  }
  for (let p = 0; p < nPairs; p++) start[p + 1] = (start[p + 1] as number) + (start[p] as number);
  const fill = start.slice(0, nPairs);
  const counts = new Int32Array(start[nPairs] as number);
  for (let k = 0; k < slots.count; k++) {
    const v = perSlot[k] as number;
    if (v === 0) continue;
    const p = slots.pair[k] as number;
    counts[fill[p] as number] = v;
    fill[p] = (fill[p] as number) + 1;
  }
  for (let p = 0; p < nPairs; p++) {
    const from = start[p] as number;
    const len = (start[p + 1] as number) - from;
    if (len === 0) {
      capacity[p] = 0x7fffffff;
      continue;
    }
    const list = counts.subarray(from, from + len).sort();
    capacity[p] = list[Math.min(len - 1, Math.floor(len * 0.95))] as number;
  }
}

/**
 * Buffers of select() and learnCapacity(), allocated once for all rounds: at a million
 * spans each round's arrays are tens of MB, and every such allocation counts as external
 * memory, which makes V8 mark the whole heap again.
 */
interface SelectScratch {
  /** Score per candidate. */
  score: Float64Array;
  /** Sort key per child. */
  keys: Float64Array;
  /** Children given per capacity slot. */
  used: Int32Array;
}

/**
 * Head start of the FIFO baseline's choice on the 0..1 score scale (a likelihood about
 * FIFO_PRIOR * LOG_RANGE e-fold higher): where the features do not tell candidates apart
 * by more than this, the engine keeps FIFO's order rather than an arbitrary one.
 */
const FIFO_PRIOR = 0.02;

/**
 * Greedy selection under the capacity constraint: children in descending order of their
 * best score, each taking its best candidate with room left. Returns children over capacity.
 */
function select(
  x: Float32Array,
  weights: Float64Array,
  cand: Candidates,
  pairOf: Int32Array,
  slots: CapacitySlots,
  capacity: Int32Array,
  fixed: Int32Array,
  chosen: Int32Array,
  scratch: SelectScratch,
): number {
  const { children, offsets, parents, fifo } = cand;
  const C = parents.length;
  const { score, keys, used } = scratch;
  for (let o = 0; o < C; o++) score[o] = scoreOf(x, weights, o);
  // Sort keys: quantised best score descending, then child index (deterministic).
  const Q = 1 << 21;
  let k = 0;
  for (let c = 0; c < children.length; c++) {
    const from = offsets[c] as number;
    const to = offsets[c + 1] as number;
    if (to === from || (fixed[children[c] as number] as number) >= 0) continue;
    let best = 0;
    for (let o = from; o < to; o++) if ((score[o] as number) > best) best = score[o] as number;
    keys[k++] = (Q - Math.round(best * Q)) * 2 ** 31 + c;
  }
  const sorted = keys.subarray(0, k).sort();
  chosen.fill(-1);
  used.fill(0);
  let over = 0;
  for (let r = 0; r < k; r++) {
    const c = (sorted[r] as number) % 2 ** 31;
    let pick = -1;
    let pickScore = -1;
    let fallback = -1;
    let fallbackScore = -1;
    for (let o = offsets[c] as number; o < (offsets[c + 1] as number); o++) {
      // FIFO's choice has a head start; ties go to the earliest-started parent.
      const s = (score[o] as number) + (fifo[o] as number) * FIFO_PRIOR;
      if (s > fallbackScore) {
        fallback = o;
        fallbackScore = s;
      }
      if (s <= pickScore) continue;
      if ((used[slots.of[o] as number] as number) >= (capacity[pairOf[o] as number] as number))
        continue;
      pick = o;
      pickScore = s;
    }
    if (pick < 0) {
      pick = fallback;
      over++;
    }
    const slot = slots.of[pick] as number;
    used[slot] = (used[slot] as number) + 1;
    chosen[c] = pick;
  }
  return over;
}

/**
 * Endpoint-pair affinity per pair id: cosine similarity of the parent endpoint's and the
 * child downstream's traffic (span counts) over AFFINITY_BUCKETS equal time buckets of
 * the batch, counted per service.
 */
function endpointAffinity(
  model: SpanModel,
  cand: Candidates,
  pairOf: Int32Array,
  nPairs: number,
): Float64Array {
  const { start, service, endpoint, downstream, n } = model;
  const result = new Float64Array(nPairs);
  if (n === 0) return result;
  const width = Math.max(
    1e6,
    ((start[n - 1] as number) - (start[0] as number) + 1) / AFFINITY_BUCKETS,
  );
  const bucket = (i: number) =>
    Math.min(AFFINITY_BUCKETS - 1, Math.floor((start[i] as number) / width));
  // Traffic vectors for the (service, endpoint) of parents and the (service, downstream) of children.
  const parentKeys = new Map<number, Float64Array>();
  const childKeys = new Map<number, Float64Array>();
  const nEp = model.counts.endpoint;
  const nDown = model.counts.downstream;
  const pairParts: [number, number][] = new Array(nPairs);
  const { children, offsets, parents } = cand;
  for (let c = 0; c < children.length; c++) {
    const child = children[c] as number;
    for (let o = offsets[c] as number; o < (offsets[c + 1] as number); o++) {
      const g = parents[o] as number;
      const pk = (service[g] as number) * nEp + (endpoint[g] as number);
      const ck = (service[child] as number) * nDown + (downstream[child] as number);
      if (!parentKeys.has(pk)) parentKeys.set(pk, new Float64Array(AFFINITY_BUCKETS));
      if (!childKeys.has(ck)) childKeys.set(ck, new Float64Array(AFFINITY_BUCKETS));
      pairParts[pairOf[o] as number] = [pk, ck];
    }
  }
  for (let i = 0; i < n; i++) {
    const dir = model.direction[i];
    const vec =
      dir === 1
        ? parentKeys.get((service[i] as number) * nEp + (endpoint[i] as number))
        : childKeys.get((service[i] as number) * nDown + (downstream[i] as number));
    if (vec) vec[bucket(i)] = (vec[bucket(i)] as number) + 1;
  }
  for (let p = 0; p < nPairs; p++) {
    const parts = pairParts[p];
    if (!parts) continue;
    const a = parentKeys.get(parts[0]) as Float64Array;
    const b = childKeys.get(parts[1]) as Float64Array;
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
