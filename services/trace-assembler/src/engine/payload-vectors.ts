/**
 * Transaction-field similarity: TF-IDF over character n-grams of payloads, built to stay
 * linear in the number of spans and bounded in memory.
 *
 * - Only the first `maxChars` characters of a payload are read (headers and the start of
 *   a body are where propagated fields live).
 * - n-grams are hashed into a fixed space of 2^HASH_BITS features (no vocabulary).
 * - Document frequencies come from a deterministic sample of at most `sampleSize`
 *   payloads, enough to recognise common n-grams (header names, boilerplate); an n-gram
 *   the sample never saw gets the highest IDF, which is what a transaction field is.
 * - Each payload keeps only its `keep` heaviest features (ties by first appearance), so a
 *   vector is a few dozen numbers and a similarity is a merge of two short sorted lists.
 */

export const HASH_BITS = 20;
const HASH_SIZE = 1 << HASH_BITS;
const BASE = 0x01000193;

export interface VectorOptions {
  ngram: number;
  maxChars: number;
  keep: number;
  sampleSize: number;
}

export const DEFAULT_VECTOR_OPTIONS: VectorOptions = {
  ngram: 7,
  maxChars: 512,
  keep: 24,
  sampleSize: 20000,
};

/** Sparse L2-normalised vectors for a set of payloads, stored in pooled typed arrays. */
export class PayloadVectors {
  readonly ids: Uint32Array;
  readonly weights: Float32Array;
  readonly lengths: Uint8Array;

  private constructor(
    readonly keep: number,
    count: number,
  ) {
    this.ids = new Uint32Array(count * keep);
    this.weights = new Float32Array(count * keep);
    this.lengths = new Uint8Array(count);
  }

  /** Build vectors for `payloads` (index v of the result is payloads[v]). */
  static build(
    payloads: readonly string[],
    options: VectorOptions = DEFAULT_VECTOR_OPTIONS,
  ): PayloadVectors {
    const out = new PayloadVectors(options.keep, payloads.length);
    const scratch = new GramScratch(options.maxChars);
    // Document frequencies from a deterministic stride sample.
    const df = new Uint32Array(HASH_SIZE);
    const stride = Math.max(1, Math.ceil(payloads.length / options.sampleSize));
    let sampled = 0;
    for (let v = 0; v < payloads.length; v += stride) {
      const u = scratch.grams(payloads[v] as string, options);
      for (let k = 0; k < u; k++) {
        const g = scratch.gram[k] as number;
        df[g] = (df[g] as number) + 1;
      }
      sampled++;
    }
    const idfOf = (g: number) => Math.log((sampled + 1) / ((df[g] as number) + 1)) + 1;
    for (let v = 0; v < payloads.length; v++)
      out.fill(v, scratch, scratch.grams(payloads[v] as string, options), idfOf);
    return out;
  }

  private fill(v: number, s: GramScratch, u: number, idfOf: (g: number) => number): void {
    if (u === 0) return;
    let total = 0;
    for (let k = 0; k < u; k++) total += s.tf[k] as number;
    for (let k = 0; k < u; k++)
      s.weight[k] = ((s.tf[k] as number) / total) * idfOf(s.gram[k] as number);
    // Choose the `keep` heaviest: find the weight threshold with a small histogram, then
    // take everything above it and, in order of appearance, enough at it.
    const keep = this.keep;
    let max = 0;
    for (let k = 0; k < u; k++) if ((s.weight[k] as number) > max) max = s.weight[k] as number;
    const LEVELS = 64;
    const hist = s.levels.fill(0);
    const level = (w: number) => Math.min(LEVELS - 1, Math.floor((w / max) * (LEVELS - 1)));
    for (let k = 0; k < u; k++) {
      const l = level(s.weight[k] as number);
      hist[l] = (hist[l] as number) + 1;
    }
    let cut = LEVELS - 1;
    let above = 0;
    while (cut > 0 && above + (hist[cut] as number) < keep) above += hist[cut--] as number;
    let atCutLeft = keep - above;
    const base = v * keep;
    let len = 0;
    for (let k = 0; k < u && len < keep; k++) {
      const l = level(s.weight[k] as number);
      if (l > cut || (l === cut && atCutLeft-- > 0)) {
        this.ids[base + len] = s.gram[k] as number;
        this.weights[base + len] = s.weight[k] as number;
        len++;
      }
    }
    // Sort the kept entries by feature id (insertion sort: at most `keep` entries) and normalise.
    let norm = 0;
    for (let a = 1; a < len; a++) {
      const id = this.ids[base + a] as number;
      const w = this.weights[base + a] as number;
      let b = a - 1;
      while (b >= 0 && (this.ids[base + b] as number) > id) {
        this.ids[base + b + 1] = this.ids[base + b] as number;
        this.weights[base + b + 1] = this.weights[base + b] as number;
        b--;
      }
      this.ids[base + b + 1] = id;
      this.weights[base + b + 1] = w;
    }
    for (let k = 0; k < len; k++) norm += (this.weights[base + k] as number) ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < len; k++)
      this.weights[base + k] = (this.weights[base + k] as number) / norm;
    this.lengths[v] = len;
  }

  /** Cosine similarity of vectors a and b, in [0, 1]. */
  cosine(a: number, b: number): number {
    const la = this.lengths[a] as number;
    const lb = this.lengths[b] as number;
    if (la === 0 || lb === 0) return 0;
    const ids = this.ids;
    const w = this.weights;
    let i = a * this.keep;
    let j = b * this.keep;
    const ei = i + la;
    const ej = j + lb;
    let dot = 0;
    while (i < ei && j < ej) {
      const x = ids[i] as number;
      const y = ids[j] as number;
      if (x === y) dot += (w[i++] as number) * (w[j++] as number);
      else if (x < y) i++;
      else j++;
    }
    return Math.min(dot, 1);
  }
}

/** Reusable buffers for the distinct n-grams of one payload and their counts. */
class GramScratch {
  readonly gram: Uint32Array;
  readonly tf: Uint16Array;
  readonly weight: Float64Array;
  readonly levels = new Int32Array(64);
  // Open-addressing table from gram to slot, cleared by generation stamps.
  private readonly tableKey: Uint32Array;
  private readonly tableSlot: Int32Array;
  private readonly tableGen: Uint32Array;
  private gen = 0;
  private readonly mask: number;

  constructor(maxChars: number) {
    this.gram = new Uint32Array(maxChars);
    this.tf = new Uint16Array(maxChars);
    this.weight = new Float64Array(maxChars);
    let size = 1;
    while (size < maxChars * 2) size <<= 1;
    this.mask = size - 1;
    this.tableKey = new Uint32Array(size);
    this.tableSlot = new Int32Array(size);
    this.tableGen = new Uint32Array(size);
  }

  /** Distinct hashed n-grams of `payload` into gram/tf; returns how many. */
  grams(payload: string, o: VectorOptions): number {
    const len = Math.min(payload.length, o.maxChars);
    const n = o.ngram;
    if (len < n) return 0;
    this.gen++;
    let pow = 1;
    for (let k = 1; k < n; k++) pow = Math.imul(pow, BASE);
    let h = 0;
    let u = 0;
    for (let i = 0; i < len; i++) {
      if (i >= n) h = (h - Math.imul(payload.charCodeAt(i - n), pow)) | 0;
      h = (Math.imul(h, BASE) + payload.charCodeAt(i)) | 0;
      if (i < n - 1) continue;
      // Finalise (murmur3 fmix32) and fold into the feature space.
      let f = h ^ (h >>> 16);
      f = Math.imul(f, 0x85ebca6b);
      f ^= f >>> 13;
      f = Math.imul(f, 0xc2b2ae35);
      f ^= f >>> 16;
      const g = f >>> (32 - HASH_BITS);
      let t = g & this.mask;
      for (;;) {
        if (this.tableGen[t] !== this.gen) {
          this.tableGen[t] = this.gen;
          this.tableKey[t] = g;
          this.tableSlot[t] = u;
          this.gram[u] = g;
          this.tf[u] = 1;
          u++;
          break;
        }
        if (this.tableKey[t] === g) {
          const slot = this.tableSlot[t] as number;
          this.tf[slot] = (this.tf[slot] as number) + 1;
          break;
        }
        t = (t + 1) & this.mask;
      }
    }
    return u;
  }
}
