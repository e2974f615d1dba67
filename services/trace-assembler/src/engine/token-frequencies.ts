/**
 * Document frequencies of payload tokens by slot (the top DF_BITS bits of a token hash),
 * counting up to 0xffff, in one table per thread kept across batches: a fresh 8 MiB table
 * per batch cost a small window more than its tokens did (allocation, page faults, and
 * external memory, which brings on full collections). The slots counted since the table
 * was last cleared are listed (up to a limit, past which the whole table is cleared) and
 * cleared when it is next taken, so a batch that threw midway leaves nothing behind.
 */
export const DF_BITS = 22;
export const DF_SHIFT = 32 - DF_BITS;
/** Slots listed for clearing; beyond that many, the whole table is cleared. */
const LISTED = 1 << 18;

export class TokenFrequencies {
  readonly counts = new Uint16Array(1 << DF_BITS);
  private readonly listed = new Int32Array(LISTED);
  private touched = 0;

  /** Counts one more document for `slot`; returns its count before. */
  add(slot: number): number {
    const d = this.counts[slot] as number;
    if (d === 0) {
      if (this.touched < LISTED) this.listed[this.touched] = slot;
      this.touched++;
    }
    if (d < 0xffff) this.counts[slot] = d + 1;
    return d;
  }

  clear(): void {
    if (this.touched > LISTED) this.counts.fill(0);
    else for (let k = 0; k < this.touched; k++) this.counts[this.listed[k] as number] = 0;
    this.touched = 0;
  }
}

let table: TokenFrequencies | undefined;

/** This thread's table, cleared. */
export function tokenFrequencies(): TokenFrequencies {
  table ??= new TokenFrequencies();
  table.clear();
  return table;
}
