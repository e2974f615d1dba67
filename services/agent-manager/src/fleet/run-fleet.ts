import { planBatches, type RolloutOptions, shouldStop } from "./rollout-plan.js";

export interface FleetItemResult {
  ok: boolean;
}

export interface FleetCallbacks<T, R> {
  /** The operation for one item; must not throw (failures are results). */
  run: (item: T, batch: number) => Promise<R>;
  /** Result for an item never attempted because the rollout stopped. */
  skipped: (item: T, batch: number, why: string) => R;
  onResult?: (item: T, result: R, batch: number) => void;
}

/** Runs `work` over items with at most `limit` running at once; one slow item never blocks the others. */
export async function mapLimited<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * A fleet operation: batches in order, items of a batch in parallel under the concurrency
 * limit. After each batch the failure share of everything attempted so far is checked
 * against the threshold; above it, the remaining items are skipped, not attempted.
 * Results come back in input order.
 */
export async function runFleet<T, R extends FleetItemResult>(
  items: T[],
  options: RolloutOptions,
  callbacks: FleetCallbacks<T, R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const batches = planBatches(items, options.batchSize);
  const results: R[] = [];
  let failed = 0;
  let stopReason: string | undefined;
  for (const [index, batch] of batches.entries()) {
    const number = index + 1;
    if (!stopReason && signal?.aborted) stopReason = "the operation was cancelled";
    if (stopReason) {
      for (const item of batch) {
        const result = callbacks.skipped(item, number, stopReason);
        callbacks.onResult?.(item, result, number);
        results.push(result);
      }
      continue;
    }
    const batchResults = await mapLimited(batch, options.concurrency, async (item) => {
      const result = await callbacks.run(item, number);
      callbacks.onResult?.(item, result, number);
      return result;
    });
    results.push(...batchResults);
    failed += batchResults.filter((r) => !r.ok).length;
    if (index < batches.length - 1 && shouldStop(failed, results.length, options.maxFailureRatio)) {
      stopReason = `rollout stopped after batch ${number}: ${failed} of ${results.length} agents failed, above the threshold ${options.maxFailureRatio}`;
    }
  }
  return results;
}
