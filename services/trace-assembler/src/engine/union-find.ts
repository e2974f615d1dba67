/** Disjoint sets over 0..n-1 with path halving and union by size. */
export class UnionFind {
  private readonly up: Int32Array;
  private readonly size: Int32Array;

  constructor(n: number) {
    this.up = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.up[i] = i;
  }

  find(i: number): number {
    const up = this.up;
    let x = i;
    while (up[x] !== x) {
      const next = up[up[x] as number] as number;
      up[x] = next;
      x = next;
    }
    return x;
  }

  /** Join the sets of a and b; false when they were already one set. */
  union(a: number, b: number): boolean {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return false;
    if ((this.size[ra] as number) < (this.size[rb] as number)) [ra, rb] = [rb, ra];
    this.up[rb] = ra;
    this.size[ra] = (this.size[ra] as number) + (this.size[rb] as number);
    return true;
  }
}
