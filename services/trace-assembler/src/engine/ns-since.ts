/**
 * Int64 nanosecond columns read as numbers relative to a base without a BigInt per read:
 * reading a BigInt64Array element allocates a BigInt, and so does the subtraction, four
 * young objects per span where the model reads a start and an end. The difference is
 * computed from the two 32-bit halves, exact (and so equal to `Number(value - base)`)
 * while it is below 2^52 ns (52 days); beyond that, through BigInts.
 */
const TWO_32 = 2 ** 32;
/** Largest difference of the high halves computed without BigInts (2^20 x 2^32 = 2^52). */
const HIGH_LIMIT = 2 ** 20;
/** Index of the low 32-bit half of an int64 in an Int32Array view (0 on little-endian). */
const LOW = new Int32Array(new BigInt64Array([1n]).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;

/** A base time, with its halves. */
export interface NsBase {
  value: bigint;
  high: number;
  low: number;
}

export function nsBase(value: bigint): NsBase {
  return {
    value,
    high: Number(BigInt.asIntN(32, value >> 32n)),
    low: Number(BigInt.asUintN(32, value)),
  };
}

export class NsColumn {
  private readonly words: Int32Array;

  constructor(private readonly column: BigInt64Array) {
    this.words = new Int32Array(column.buffer, column.byteOffset, column.length * 2);
  }

  /** `Number(column[r] - base.value)`. */
  since(r: number, base: NsBase): number {
    const high = (this.words[2 * r + HIGH] as number) - base.high;
    if (high > -HIGH_LIMIT && high < HIGH_LIMIT)
      return high * TWO_32 + (((this.words[2 * r + LOW] as number) >>> 0) - base.low);
    return Number((this.column[r] as bigint) - base.value);
  }

  /** Row of the smallest value (the first of equals); 0 when empty. */
  minRow(): number {
    const { words } = this;
    let best = 0;
    for (let r = 1; r < this.column.length; r++) {
      const high = words[2 * r + HIGH] as number;
      const bestHigh = words[2 * best + HIGH] as number;
      if (
        high < bestHigh ||
        (high === bestHigh &&
          (words[2 * r + LOW] as number) >>> 0 < (words[2 * best + LOW] as number) >>> 0)
      )
        best = r;
    }
    return best;
  }
}
