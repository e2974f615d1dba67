/**
 * Small integer ids for tuples of numbers, by first appearance, without building a string
 * key per lookup: a tuple is interned a field at a time, each step's id the next step's
 * prefix, so a lookup of one number does what a joined string key did. The numbers are
 * kept in an open-addressing table of typed arrays: a Map keyed by numbers beyond the
 * small-integer range boxes and hashes each one as a heap number.
 */
const EMPTY = -1;
const TWO_32 = 2 ** 32;

/** First table slot of a key (a non-negative integer up to 2^53). */
function home(exact: number, mask: number): number {
  const mixed = Math.imul((exact >>> 0) ^ Math.floor(exact / TWO_32), 0x9e3779b1);
  return (mixed ^ (mixed >>> 15)) & mask;
}

export class TupleIds {
  private keys = new Float64Array(64);
  private values = new Int32Array(64).fill(EMPTY);
  private count = 0;
  /** Tuples whose exact key would be beyond 2^53 (string keys, never equal to a number). */
  private readonly wide = new Map<string, number>();

  /** Id of (`prefix`, `value`), `value` below `bound`. */
  id(prefix: number, value: number, bound: number): number {
    const exact = prefix * bound + value;
    if (exact > Number.MAX_SAFE_INTEGER) return this.wideId(`${prefix},${value}`);
    const mask = this.values.length - 1;
    let t = home(exact, mask);
    for (;;) {
      const v = this.values[t] as number;
      if (v === EMPTY) break;
      if (this.keys[t] === exact) return v;
      t = (t + 1) & mask;
    }
    const v = this.count++;
    this.keys[t] = exact;
    this.values[t] = v;
    if (this.count * 2 > this.values.length) this.grow();
    return v;
  }

  get size(): number {
    return this.count;
  }

  private wideId(key: string): number {
    let v = this.wide.get(key);
    if (v === undefined) {
      v = this.count++;
      this.wide.set(key, v);
    }
    return v;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Float64Array(keys.length * 2);
    this.values = new Int32Array(values.length * 2).fill(EMPTY);
    const mask = this.values.length - 1;
    for (let s = 0; s < values.length; s++) {
      const v = values[s] as number;
      if (v === EMPTY) continue;
      const exact = keys[s] as number;
      let t = home(exact, mask);
      while (this.values[t] !== EMPTY) t = (t + 1) & mask;
      this.keys[t] = exact;
      this.values[t] = v;
    }
  }
}
