/**
 * Time arithmetic of the poller. Agents stamp spans with the kernel monotonic clock of
 * their host; the poller works in wall-clock nanoseconds since the Unix epoch, which is
 * the raw time plus the host's clock offset (wall minus monotonic, measured on the host).
 * Nanosecond epochs exceed 2^53, so every time is a bigint.
 */

export function toWallNs(rawNs: bigint, clockOffsetNs: bigint): bigint {
  return rawNs + clockOffsetNs;
}

export function toRawNs(wallNs: bigint, clockOffsetNs: bigint): bigint {
  return wallNs - clockOffsetNs;
}

export function msToNs(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

/** The wall clock now, in nanoseconds. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The largest multiple of `step` that is <= t (floor, also for negative t). */
export function alignDown(t: bigint, step: bigint): bigint {
  const r = t % step;
  return r < 0n ? t - r - step : t - r;
}

export function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
