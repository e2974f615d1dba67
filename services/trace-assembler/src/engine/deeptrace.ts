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
import { BINS, CandidateFeatures, DENSITIES, FEATURES, PAIR_STRIDE } from "./deeptrace-features.js";
import { LINK_INTRA, type Links } from "./links.js";
import type { SpanModel } from "./model.js";

export { FEATURES } from "./deeptrace-features.js";

export interface DeepTraceOptions {
  /** Re-estimation rounds after the initial selection. */
  rounds: number;
}

export interface DeepTraceStats {
  /** Final feature weights (summing to 1), by feature name. */
  weights: Record<(typeof FEATURES)[number], number>;
  linked: number;
  /** Children whose every candidate was at its learned capacity. */
  overCapacity: number;
}

export function deepTraceLinks(
  model: SpanModel,
  cand: Candidates,
  links: Links,
  fixed: Int32Array,
  options: DeepTraceOptions,
): DeepTraceStats {
  const { children, offsets, parents } = cand;
  const C = parents.length;
  const features = new CandidateFeatures(model, cand);
  const { pairOf, nPairs, bins } = features;
  const slots = capacitySlots(parents, pairOf, cand.fifo, model.n, nPairs);
  const scratch: SelectScratch = {
    scores: new Float64Array(C),
    keys: new Float64Array(children.length),
    used: new Int32Array(slots.count),
    room: new Int32Array(slots.count),
    top: new Int32Array(children.length),
    topSlot: new Int32Array(children.length),
  };

  const hist = new Float64Array(nPairs * PAIR_STRIDE);
  const background = new Float64Array(hist.length);
  const chosen = new Int32Array(children.length).fill(-1); // candidate index per child
  const weights = new Float64Array(FEATURES.length);
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
  features.separationWeights(weights);

  for (let round = 0; round <= options.rounds; round++) {
    if (round > 0) {
      hist.fill(0);
      for (let c = 0; c < children.length; c++) {
        const o = chosen[c] as number;
        if (o >= 0) addToHistograms(hist, bins, pairOf, o, 1);
      }
      features.applyDensities(densities(hist), backgroundDensity);
      features.agreementWeights(chosen, weights);
      learnCapacity(chosen, slots, nPairs, capacity, scratch.used);
    }
    overCapacity = select(features, weights, cand, slots, capacity, fixed, chosen, scratch);
  }

  let linked = 0;
  for (let c = 0; c < children.length; c++) {
    const o = chosen[c] as number;
    if (o < 0) continue;
    // The scores of the last selection, made with the final weights.
    const score = scratch.scores[o] as number;
    links.set(children[c] as number, parents[o] as number, LINK_INTRA, score);
    linked++;
  }
  const named = {} as DeepTraceStats["weights"];
  FEATURES.forEach((f, k) => {
    named[f] = weights[k] as number;
  });
  return { weights: named, linked, overCapacity };
}

function addToHistograms(
  hist: Float64Array,
  bins: Uint8Array,
  pairOf: Int32Array,
  o: number,
  w: number,
): void {
  const base = (pairOf[o] as number) * PAIR_STRIDE;
  for (let d = 0; d < DENSITIES; d++) {
    const at = base + d * BINS + (bins[o * DENSITIES + d] as number);
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

/**
 * (parent, endpoint pair) capacity slots: candidates with the same parent and pair share
 * a slot, the unit the learned call multiplicity limits. `tagged` is the slot per
 * candidate with its FIFO flag (slot x 2 + flag, what the selection reads), `pair` the
 * endpoint pair per slot.
 */
interface CapacitySlots {
  tagged: Int32Array;
  pair: Int32Array;
  count: number;
}

function capacitySlots(
  parents: Int32Array,
  pairOf: Int32Array,
  fifo: Uint8Array,
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
  const tagged = new Int32Array(C);
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
    tagged[o] = (slotOfPair[p] as number) * 2 + (fifo[o] as number);
  }
  return { tagged, pair: pair.slice(0, count), count };
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
    const k = (slots.tagged[o] as number) >> 1;
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
  scores: Float64Array;
  /** Sort key per child. */
  keys: Float64Array;
  /** Children given per capacity slot (learnCapacity's buffer). */
  used: Int32Array;
  /** Children a capacity slot can still take in this selection. */
  room: Int32Array;
  /**
   * Per child, its top candidate and that candidate's capacity slot: the selection visits
   * children in score order, and these small arrays are all it reads of a child whose top
   * candidate has room (most of them).
   */
  top: Int32Array;
  topSlot: Int32Array;
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
  features: CandidateFeatures,
  weights: Float64Array,
  cand: Candidates,
  slots: CapacitySlots,
  capacity: Int32Array,
  fixed: Int32Array,
  chosen: Int32Array,
  scratch: SelectScratch,
): number {
  const { children, offsets } = cand;
  const { scores, keys, room, top, topSlot } = scratch;
  const { tagged } = slots;
  // Sort keys: quantised best score descending, then child index (deterministic).
  const Q = 1 << 21;
  let k = 0;
  for (let c = 0; c < children.length; c++) {
    const from = offsets[c] as number;
    const to = offsets[c + 1] as number;
    if (to === from || (fixed[children[c] as number] as number) >= 0) continue;
    const best = features.scoreChild(weights, c, scores);
    keys[k++] = (Q - Math.round(best * Q)) * 2 ** 31 + c;
    // The child's top candidate (FIFO's head start included, the first of equals) is
    // noted while its candidates are in cache: it is the pick whenever its slot has room.
    let topScore = -1;
    for (let o = from; o < to; o++) {
      const slotAndFifo = tagged[o] as number;
      const s = (scores[o] as number) + (slotAndFifo & 1) * FIFO_PRIOR;
      if (s > topScore) {
        top[c] = o;
        topSlot[c] = slotAndFifo >> 1;
        topScore = s;
      }
    }
  }
  const sorted = keys.subarray(0, k).sort();
  chosen.fill(-1);
  for (let slot = 0; slot < slots.count; slot++)
    room[slot] = capacity[slots.pair[slot] as number] as number;
  let over = 0;
  for (let r = 0; r < k; r++) {
    const c = (sorted[r] as number) % 2 ** 31;
    let pick = top[c] as number;
    let slot = topSlot[c] as number;
    if ((room[slot] as number) <= 0) {
      pick = pickWithRoom(scores, tagged, room, offsets[c] as number, offsets[c + 1] as number);
      if (pick < 0) {
        pick = top[c] as number;
        over++;
      }
      slot = (tagged[pick] as number) >> 1;
    }
    room[slot] = (room[slot] as number) - 1;
    chosen[c] = pick;
  }
  return over;
}

/**
 * The best of candidates [from, to) whose capacity slot has room (FIFO's choice with its
 * head start; ties go to the earliest-started parent), or -1 when none has.
 */
function pickWithRoom(
  scores: Float64Array,
  tagged: Int32Array,
  room: Int32Array,
  from: number,
  to: number,
): number {
  let pick = -1;
  let pickScore = -1;
  for (let o = from; o < to; o++) {
    const slotAndFifo = tagged[o] as number;
    const s = (scores[o] as number) + (slotAndFifo & 1) * FIFO_PRIOR;
    if (s <= pickScore) continue;
    if ((room[slotAndFifo >> 1] as number) <= 0) continue;
    pick = o;
    pickScore = s;
  }
  return pick;
}
