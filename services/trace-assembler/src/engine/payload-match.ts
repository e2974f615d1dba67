/**
 * Direct comparisons of two captures of the same message. A caller's Egress span and the
 * callee's Ingress span of one call saw the same request bytes and the same response
 * bytes (up to how much each agent captured), so their common prefix is a cheap and
 * strong check, used to break ties between cross-link candidates and to catch responses
 * an agent paired with the wrong request.
 *
 * Payloads are compared by slot in a table's texts, as bytes in place where the texts
 * hold them (no string is decoded), else as strings.
 */
import { type TextBytes, type Texts, textBytes } from "@deeptrace/shared/spans/text-arena";

/** How many characters are compared at most. */
const COMPARE_LIMIT = 256;

export class PayloadMatch {
  private readonly a: TextBytes = textBytes();
  private readonly b: TextBytes = textBytes();
  /** Characters compared by the last `commonPrefix`. */
  private compared = 0;

  constructor(private readonly texts: Texts) {}

  /**
   * Length of the common prefix over the shorter of the two (capped), in [0, 1]; 0 if
   * either is empty.
   */
  similarity(slotA: number, slotB: number): number {
    const same = this.commonPrefix(slotA, slotB);
    return this.compared === 0 ? 0 : same / this.compared;
  }

  /**
   * Whether two captures disagree: both non-empty and different within the part both
   * captured. Undecidable (an empty side) counts as agreeing.
   */
  disagree(slotA: number, slotB: number): boolean {
    return this.commonPrefix(slotA, slotB) < this.compared;
  }

  /** Common prefix of the two, within the first `compared` characters (set here). */
  private commonPrefix(slotA: number, slotB: number): number {
    const { a, b, texts } = this;
    if (texts.locate(slotA, a) && texts.locate(slotB, b)) {
      const n = Math.min(a.length, b.length, COMPARE_LIMIT);
      this.compared = n;
      const x = a.bytes;
      const y = b.bytes;
      const dx = a.offset;
      const dy = b.offset;
      let i = 0;
      while (i < n && x[dx + i] === y[dy + i]) i++;
      return i;
    }
    const s = texts.text(slotA);
    const t = texts.text(slotB);
    const n = Math.min(s.length, t.length, COMPARE_LIMIT);
    this.compared = n;
    let i = 0;
    while (i < n && s.charCodeAt(i) === t.charCodeAt(i)) i++;
    return i;
  }
}
