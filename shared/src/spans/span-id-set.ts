/**
 * The span ids of a batch, for de-duplication, kept as 16 bytes each in typed arrays
 * instead of a Set of strings: a million ids would otherwise be a million live strings
 * (and, being prefixes of the hex digest, a million 64-character parents) that every full
 * garbage collection marks again. Ids not in spanIdFor's format (32 lowercase hex
 * digits) are kept in a plain Set.
 */

/** Words per id: 32 hex digits = 4 x 32 bits. */
const WORDS = 4;
const EMPTY = -1;

export class SpanIdSet {
  /** Id words by entry. */
  private words: Uint32Array;
  /** Open addressing: entry per slot, EMPTY when free; the size is a power of two. */
  private slots: Int32Array;
  private entries = 0;
  private readonly others = new Set<string>();
  /** The words of the id being added. */
  private readonly id = new Uint32Array(WORDS);

  /** `capacity`: expected ids (the set grows past it). */
  constructor(capacity = 1024) {
    const size = slotsFor(capacity);
    this.slots = new Int32Array(size).fill(EMPTY);
    this.words = new Uint32Array((size / 2) * WORDS);
  }

  /** Add `spanId`; false when it was there already. */
  add(spanId: string): boolean {
    if (!this.parse(spanId)) {
      const before = this.others.size;
      this.others.add(spanId);
      return this.others.size > before;
    }
    // At most half full, so probes stay short.
    if ((this.entries + 1) * 2 > this.slots.length) this.grow();
    const id = this.id;
    const mask = this.slots.length - 1;
    for (let s = (id[0] as number) & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s] as number;
      if (e === EMPTY) {
        this.insert(s);
        return true;
      }
      const w = e * WORDS;
      const words = this.words;
      if (
        words[w] === id[0] &&
        words[w + 1] === id[1] &&
        words[w + 2] === id[2] &&
        words[w + 3] === id[3]
      )
        return false;
    }
  }

  /** The id's words into `this.id`; false when it is not 32 lowercase hex digits. */
  private parse(spanId: string): boolean {
    if (spanId.length !== WORDS * 8) return false;
    for (let k = 0; k < WORDS; k++) {
      let word = 0;
      for (let i = k * 8; i < k * 8 + 8; i++) {
        const c = spanId.charCodeAt(i);
        const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
        if (digit < 0) return false;
        word = (word << 4) | digit;
      }
      this.id[k] = word;
    }
    return true;
  }

  private insert(slot: number): void {
    const e = this.entries++;
    this.words.set(this.id, e * WORDS);
    this.slots[slot] = e;
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(EMPTY);
    const mask = slots.length - 1;
    for (let e = 0; e < this.entries; e++) {
      let s = (this.words[e * WORDS] as number) & mask;
      while (slots[s] !== EMPTY) s = (s + 1) & mask;
      slots[s] = e;
    }
    this.slots = slots;
    const words = new Uint32Array((slots.length / 2) * WORDS);
    words.set(this.words);
    this.words = words;
  }
}

function slotsFor(capacity: number): number {
  let size = 64;
  while (size < capacity * 2) size *= 2;
  return size;
}
