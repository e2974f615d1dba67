/**
 * Direct comparisons of two captures of the same message. A caller's Egress span and the
 * callee's Ingress span of one call saw the same request bytes and the same response
 * bytes (up to how much each agent captured), so their common prefix is a cheap and
 * strong check, used to break ties between cross-link candidates and to catch responses
 * an agent paired with the wrong request.
 */

/** How many characters are compared at most. */
const COMPARE_LIMIT = 256;

/** Length of the common prefix over the shorter of the two (capped), in [0, 1]; 0 if either is empty. */
export function prefixSimilarity(a: string, b: string): number {
  const n = Math.min(a.length, b.length, COMPARE_LIMIT);
  if (n === 0) return 0;
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i / n;
}

/**
 * Whether two captures disagree: both non-empty and different within the part both
 * captured. Undecidable (an empty side) counts as agreeing.
 */
export function capturesDisagree(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length, COMPARE_LIMIT);
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return true;
  return false;
}
