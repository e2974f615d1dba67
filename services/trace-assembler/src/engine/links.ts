/**
 * The links the engine chose: for every span (model index) its parent's index or -1, how
 * the link was found, and its confidence on a 0..1 scale.
 */
export const LINK_NONE = 0;
export const LINK_CROSS = 1;
export const LINK_INTRA = 2;
export const LINK_OBSERVED = 3;

export class Links {
  readonly parent: Int32Array;
  readonly kind: Uint8Array;
  readonly score: Float64Array;

  constructor(n: number) {
    this.parent = new Int32Array(n).fill(-1);
    this.kind = new Uint8Array(n);
    this.score = new Float64Array(n);
  }

  set(child: number, parent: number, kind: number, score: number): void {
    this.parent[child] = parent;
    this.kind[child] = kind;
    this.score[child] = score;
  }
}
