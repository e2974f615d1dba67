/**
 * Polls `probe` until it returns something truthy and resolves to that; rejects naming
 * `what` after `timeoutMs`. Errors from the probe count as "not yet".
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = ` (last error: ${(error as Error).message})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError}`);
}
