import { maxBig } from "./clock.js";

/** What the poller knows about how far one agent's spans have been read. */
export interface AgentProgress {
  /** Largest wall-clock start time read from the agent so far. */
  maxSeenNs: bigint | undefined;
  /**
   * Wall time at which the latest read began (its point in time was opened), when that read
   * reached the end of the index; undefined while the agent has a backlog or was not read.
   */
  caughtUpAtNs: bigint | undefined;
}

export interface WatermarkSettings {
  /** How far behind an agent's newest span its older spans may still arrive. */
  allowedLatenessNs: bigint;
  /** How long an indexed document may stay invisible to search. */
  refreshMarginNs: bigint;
}

/**
 * The time up to which an agent's spans are believed complete: the max event time seen
 * minus the allowed lateness. An agent whose read reached the end of its index also
 * follows the wall clock: everything indexed before the read began minus the refresh
 * margin was visible, and spans older than that minus the lateness were indexed by then.
 * Undefined until the agent has been read once.
 */
export function agentWatermark(
  progress: AgentProgress,
  settings: WatermarkSettings,
): bigint | undefined {
  const fromSeen =
    progress.maxSeenNs === undefined ? undefined : progress.maxSeenNs - settings.allowedLatenessNs;
  const fromClock =
    progress.caughtUpAtNs === undefined
      ? undefined
      : progress.caughtUpAtNs - settings.refreshMarginNs - settings.allowedLatenessNs;
  if (fromSeen === undefined) return fromClock;
  if (fromClock === undefined) return fromSeen;
  return maxBig(fromSeen, fromClock);
}

/**
 * The watermark over all agents: the smallest agent watermark. Undefined when there are no
 * agents or one of them has not been read yet, so nothing is published on partial knowledge.
 */
export function globalWatermark(agentWatermarks: Iterable<bigint | undefined>): bigint | undefined {
  let result: bigint | undefined;
  let any = false;
  for (const w of agentWatermarks) {
    if (w === undefined) return undefined;
    result = !any || w < (result as bigint) ? w : result;
    any = true;
  }
  return result;
}
