/**
 * Transaction fields in payloads: the ids and arguments (an order id in a query string,
 * a user id in a JSON body, the same id in a Redis key or an SQL WHERE clause) that a
 * request carries on to the calls it causes. They are found as rare tokens.
 *
 * - A token is a maximal run of ASCII letters and digits of at least MIN_TOKEN characters,
 *   read from the first `maxChars` characters of a payload, hashed to 32 bits. Tokens, not
 *   character n-grams, because a value crosses protocols with different punctuation around
 *   it (`user_id=123290`, `cart:123290`, `WHERE user_id = 123290`) and a 6-digit value
 *   shares no 7-gram with itself in another context.
 * - Inverse document frequency over the spans of the batch (request and response of a span
 *   together count once). A token is a transaction field when it occurs in at least two
 *   spans and at most `maxDf` (default: about the square root of the span count, so header
 *   names, hosts, methods, dates and status words never are).
 * - Each span keeps its distinct rare tokens with their IDF, in pooled typed arrays.
 *
 * `maskPropagatedIds` blanks the values of propagated-id headers and fields (X-Request-Id,
 * request_id, traceparent, b3, X-B3-*, uber-trace-id; any case) before tokenising, so that
 * accuracy can be measured without them.
 */

import { type PayloadSide, REQUEST, RESPONSE } from "@deeptrace/shared/spans/payloads";
import { type TextBytes, type Texts, textBytes } from "@deeptrace/shared/spans/text-arena";
import { DF_SHIFT, tokenFrequencies } from "./token-frequencies.js";

const MIN_TOKEN = 3;

export interface TokenOptions {
  /** Characters of each payload read. */
  maxChars: number;
  /** Largest document frequency of a transaction field; 0 = about sqrt(spans). */
  maxDf: number;
  maskPropagatedIds: boolean;
}

export const DEFAULT_TOKEN_OPTIONS: TokenOptions = {
  maxChars: 1024,
  maxDf: 0,
  maskPropagatedIds: false,
};

const PROPAGATED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary protocols put NULs and length bytes between a name and its value
  /(?<![\w-])((?:x-)?request[-_]id|traceparent|tracestate|b3|x-b3-[a-z]+|uber-trace-id)(["'\s:=\x00-\x1f]{1,6})([^\s"',;&]+)/gi;

/** The payload with the values of propagated-id headers and fields blanked. */
export function maskPropagatedIds(payload: string): string {
  PROPAGATED.lastIndex = 0;
  if (!PROPAGATED.test(payload)) return payload;
  PROPAGATED.lastIndex = 0;
  return payload.replace(PROPAGATED, "$1$2");
}

/** Rare tokens per span: tokens of span i are ids/idf[offsets[i] .. offsets[i + 1]). */
export interface SpanTokens {
  offsets: Int32Array;
  ids: Uint32Array;
  idf: Float32Array;
  /** Sum of the IDF of span i's rare tokens. */
  mass: Float32Array;
}

/** 1 for the characters of a token (ASCII letters and digits), by ASCII code. */
const WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++)
  WORD[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 1 : 0;

const UTF8 = new TextEncoder();

/** Distinct token hashes of one span (request and response), reusing buffers. */
class TokenScratch {
  readonly hashes: Uint32Array;
  count = 0;
  private readonly tableKey: Uint32Array;
  private readonly tableGen: Uint32Array;
  private gen = 0;
  private readonly mask: number;

  /** A string's bytes, for `add`: at most three per UTF-16 code unit. */
  private readonly utf8: TextBytes;

  /** `maxChars`: characters read of each text (so at most as many tokens). */
  constructor(maxChars: number) {
    this.utf8 = { bytes: new Uint8Array(3 * maxChars), offset: 0, length: 0 };
    this.hashes = new Uint32Array(maxChars);
    let size = 1;
    while (size < maxChars * 2) size <<= 1;
    this.mask = size - 1;
    this.tableKey = new Uint32Array(size);
    this.tableGen = new Uint32Array(size);
  }

  reset(): void {
    this.count = 0;
    this.gen++;
  }

  /** The tokens of a text held as Latin-1 bytes (the same as of its string). */
  addBytes(text: TextBytes, maxChars: number): void {
    const { bytes, offset } = text;
    const end = offset + Math.min(text.length, maxChars);
    let h = 0x811c9dc5;
    let run = 0;
    for (let i = offset; i < end; i++) {
      const c = bytes[i] as number;
      if (c < 128 && WORD[c] === 1) {
        h = Math.imul(h ^ c, 0x01000193);
        run++;
      } else {
        if (run >= MIN_TOKEN) this.insert(h);
        h = 0x811c9dc5;
        run = 0;
      }
    }
    if (run >= MIN_TOKEN) this.insert(h);
  }

  /**
   * The tokens of a string: its first `maxChars` characters as UTF-8, where every byte of a
   * non-ASCII character is 0x80 or above and so, like the character, ends a token.
   */
  add(text: string, maxChars: number): void {
    const head = text.length > maxChars ? text.slice(0, maxChars) : text;
    this.utf8.length = UTF8.encodeInto(head, this.utf8.bytes).written;
    this.addBytes(this.utf8, this.utf8.length);
  }

  private insert(raw: number): void {
    // murmur3 fmix32, so the top bits (the document-frequency slot) are well mixed.
    let f = raw ^ (raw >>> 16);
    f = Math.imul(f, 0x85ebca6b);
    f ^= f >>> 13;
    f = Math.imul(f, 0xc2b2ae35);
    f ^= f >>> 16;
    const key = f >>> 0;
    let t = key & this.mask;
    for (;;) {
      if (this.tableGen[t] !== this.gen) {
        if (this.count === this.hashes.length) return;
        this.tableGen[t] = this.gen;
        this.tableKey[t] = key;
        this.hashes[this.count++] = key;
        return;
      }
      if (this.tableKey[t] === key) return;
      t = (t + 1) & this.mask;
    }
  }
}

/**
 * The token hashes that may be rare, in chunks of one size (about 8 tokens per member,
 * at most 4 MiB): it grows without copying, and allocates little more than it holds
 * (every typed array counts towards the external memory that makes V8 run a full
 * collection).
 */
class TokenPool {
  private readonly chunks: Uint32Array[] = [];
  private readonly bits: number;
  private readonly mask: number;
  length = 0;

  constructor(members: number) {
    let bits = 10;
    while (bits < 20 && 1 << bits < members * 8) bits++;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
  }

  push(h: number): void {
    const c = this.length >>> this.bits;
    if (c === this.chunks.length) this.chunks.push(new Uint32Array(this.mask + 1));
    (this.chunks[c] as Uint32Array)[this.length & this.mask] = h;
    this.length++;
  }

  get(p: number): number {
    return (this.chunks[p >>> this.bits] as Uint32Array)[p & this.mask] as number;
  }

  set(p: number, h: number): void {
    (this.chunks[p >>> this.bits] as Uint32Array)[p & this.mask] = h;
  }
}

/**
 * The payloads of the spans by slot in `texts`: `slot(i, side)` of span i's REQUEST or
 * RESPONSE, NO_PAYLOAD for one that is not read.
 */
export interface PayloadSlots {
  texts: Texts;
  slot: (i: number, side: PayloadSide) => number;
}

export const NO_PAYLOAD = -1;

/** Adds the tokens of one side of span i's payloads to the scratch. */
function addSide(
  scratch: TokenScratch,
  source: PayloadSlots,
  i: number,
  side: PayloadSide,
  view: TextBytes,
  options: TokenOptions,
): void {
  const slot = source.slot(i, side);
  if (slot === NO_PAYLOAD) return;
  // Masking rewrites a string; otherwise bytes are read in place where the texts have them.
  if (!options.maskPropagatedIds && source.texts.locate(slot, view)) {
    scratch.addBytes(view, options.maxChars);
    return;
  }
  const text = source.texts.text(slot);
  scratch.add(options.maskPropagatedIds ? maskPropagatedIds(text) : text, options.maxChars);
}

/**
 * Rare tokens of the spans `members` (model indices, in any order: the result does not
 * depend on it; others get none), from their request and response payloads: by slot in a
 * table's texts, or as strings.
 */
export function spanTokens(
  n: number,
  members: ArrayLike<number>,
  source: PayloadSlots,
  options: TokenOptions,
): SpanTokens {
  const m = members.length;
  const scratch = new TokenScratch(options.maxChars);
  const view = textBytes();
  const maxDf = options.maxDf > 0 ? options.maxDf : Math.max(8, Math.ceil(Math.sqrt(m)));
  // Pass 1: document frequencies, and the distinct tokens per member that may still be
  // rare, kept in a pool (a token already counted in maxDf members never is: most tokens
  // are boilerplate, and this keeps them out of the pool and of pass 2).
  const pool = new TokenPool(m);
  const start = new Int32Array(m + 1);
  const frequencies = tokenFrequencies();
  const df = frequencies.counts;
  for (let k = 0; k < m; k++) {
    const i = members[k] as number;
    scratch.reset();
    addSide(scratch, source, i, REQUEST, view, options);
    addSide(scratch, source, i, RESPONSE, view, options);
    const u = scratch.count;
    for (let t = 0; t < u; t++) {
      const h = scratch.hashes[t] as number;
      if (frequencies.add(h >>> DF_SHIFT) < maxDf) pool.push(h);
    }
    start[k + 1] = pool.length;
  }
  // Pass 2: keep the rare ones, moved to the front of each member's part of the pool.
  const logM = Math.log(Math.max(2, m));
  // IDF by document frequency (only 2..maxDf are kept; counts stop at 0xffff).
  const idfOf = new Float64Array(Math.min(maxDf, 0xffff) + 1);
  for (let d = 2; d < idfOf.length; d++) idfOf[d] = logM - Math.log(d);
  const offsets = new Int32Array(n + 1);
  const count = new Int32Array(n);
  for (let k = 0; k < m; k++) {
    const from = start[k] as number;
    let w = from;
    for (let p = from; p < (start[k + 1] as number); p++) {
      const h = pool.get(p);
      const d = df[h >>> DF_SHIFT] as number;
      if (d >= 2 && d <= maxDf) pool.set(w++, h);
    }
    count[members[k] as number] = w - from;
  }
  for (let i = 0; i < n; i++) offsets[i + 1] = (offsets[i] as number) + (count[i] as number);
  const total = offsets[n] as number;
  const ids = new Uint32Array(total);
  const idf = new Float32Array(total);
  const mass = new Float32Array(n);
  for (let k = 0; k < m; k++) {
    const i = members[k] as number;
    const from = start[k] as number;
    let w = offsets[i] as number;
    let sum = 0;
    for (let p = from; p < from + (count[i] as number); p++) {
      const h = pool.get(p);
      const v = idfOf[df[h >>> DF_SHIFT] as number] as number;
      ids[w] = h;
      idf[w] = v;
      sum += v;
      w++;
    }
    mass[i] = sum;
  }
  return { offsets, ids, idf, mass };
}
