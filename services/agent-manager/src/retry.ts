/**
 * Runs `attempt` until it succeeds or the signal aborts, waiting 1 s, 2 s, 4 s ... (at most
 * 30 s) between failures, each reported through `onFailure`.
 */
export async function retryUntilDone(
  attempt: () => Promise<void>,
  onFailure: (error: Error, delayMs: number) => void,
  signal: AbortSignal,
): Promise<void> {
  let delay = 1_000;
  while (!signal.aborted) {
    try {
      await attempt();
      return;
    } catch (error) {
      onFailure(error as Error, delay);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      delay = Math.min(delay * 2, 30_000);
    }
  }
}
