/**
 * Address helpers shared by the span adapters.
 *
 * The agent's raw dump carries IPv4 addresses as u32 in host order; documents carry
 * dotted strings. Everything downstream works on the string form.
 */

/** Dotted IPv4 from a u32 in host byte order (the agent's `src_addr`/`dst_addr`). */
export function ipv4FromU32(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * An address field as found in a document: a dotted string (kept as is) or a u32 number.
 * Returns undefined when the value is neither.
 */
export function addressFrom(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) {
    return ipv4FromU32(value);
  }
  return undefined;
}

/** True for loopback addresses, which say nothing about which host a process runs on. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip === "localhost";
}
