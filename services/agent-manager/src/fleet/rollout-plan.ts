/** How a fleet operation rolls out, with server defaults applied. */
export interface RolloutOptions {
  concurrency: number;
  /** Agents per batch; 0 means one batch holding everything. */
  batchSize: number;
  /** Stop before the next batch once failed / attempted exceeds this (0..1); 0 never stops. */
  maxFailureRatio: number;
}

/** Splits the targets into batches of batchSize (one batch when batchSize is 0). */
export function planBatches<T>(items: T[], batchSize: number): T[][] {
  if (items.length === 0) return [];
  if (batchSize <= 0 || batchSize >= items.length) return [items];
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += batchSize) batches.push(items.slice(i, i + batchSize));
  return batches;
}

/** Whether the rollout stops after a batch: the failure share so far is above the threshold. */
export function shouldStop(failed: number, attempted: number, maxFailureRatio: number): boolean {
  if (maxFailureRatio <= 0 || attempted === 0) return false;
  return failed / attempted > maxFailureRatio;
}
