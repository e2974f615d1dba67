/**
 * Small integer ids for tuples of numbers, by first appearance, without building a string
 * key per lookup: a tuple is interned a field at a time, each step's id the next step's
 * prefix, so a Map lookup on one number does what a joined string key did.
 */
export class TupleIds {
  private readonly ids = new Map<number | string, number>();
  /** Id of (`prefix`, `value`), `value` below `bound`. */
  id(prefix: number, value: number, bound: number): number {
    const exact = prefix * bound + value;
    // Beyond 2^53 the product is no longer exact: a string key then (never equal to a number).
    const key = exact <= Number.MAX_SAFE_INTEGER ? exact : `${prefix},${value}`;
    let v = this.ids.get(key);
    if (v === undefined) {
      v = this.ids.size;
      this.ids.set(key, v);
    }
    return v;
  }
  get size(): number {
    return this.ids.size;
  }
}
