/**
 * DNS lookups belong to the request that then dials what they resolved.
 *
 * A process resolves a name when it opens a connection, so a DNS Egress span carries no
 * transaction field of its own; what it does carry is the address it resolved. The
 * request that needed the lookup is the one whose call goes out on a new connection to
 * that address shortly after the answer arrived. So each DNS span is paired with its dial:
 * the earliest Egress span of the same process that starts after the lookup ended (within
 * MAX_DIAL_NS), is the first span seen on its connection, and goes to the resolved address
 * (or, when the answer's address is unreadable, names the host in its request). Each dial
 * is claimed by one lookup, in the order the answers arrived. After linking, a lookup
 * takes its dial's parent when that parent was open when the lookup started, unless it
 * is linked to a parent on its own thread in a process whose calls mostly run on their
 * parent's thread: there the thread tells, and concurrent lookups of one name make the
 * pairing by order approximate.
 */
import { payloadSlot, REQUEST, RESPONSE } from "@deeptrace/shared/spans/payloads";
import { NO_CONNECTION } from "@deeptrace/shared/spans/span-table";
import { LINK_CROSS, LINK_INTRA, type Links } from "./links.js";
import { EGRESS, groupBy, type SpanModel, textOf } from "./model.js";

/** Longest time from a lookup's answer to the dial's first request (TCP handshake included). */
const MAX_DIAL_NS = 20e6;

/** Share of calls on their parent's thread above which a process's threads are evidence. */
const THREAD_KEPT = 0.5;

/** The IPv4 address of the first A record of a DNS answer, or undefined. */
export function dnsAnswerAddress(resp: string): string | undefined {
  // TYPE A, CLASS IN, 4 TTL bytes, RDLENGTH 4, then the address.
  for (let k = 12; k + 14 <= resp.length; k++) {
    if (
      resp.charCodeAt(k) !== 0 ||
      resp.charCodeAt(k + 1) !== 1 ||
      resp.charCodeAt(k + 2) !== 0 ||
      resp.charCodeAt(k + 3) !== 1 ||
      resp.charCodeAt(k + 8) !== 0 ||
      resp.charCodeAt(k + 9) !== 4
    )
      continue;
    const bytes = [10, 11, 12, 13].map((d) => resp.charCodeAt(k + d));
    // Bytes >= 0x80 reach us as U+FFFD (the agent's lossy text): not recoverable.
    if (bytes.some((b) => b > 0xff)) return undefined;
    return bytes.join(".");
  }
  return undefined;
}

/** The lookup's dial per DNS Egress span (model index), -1 when none was found. */
export function dnsDials(model: SpanModel): Int32Array {
  const { direction, start, end, row, table } = model;
  const { payloads, srcIp, strings } = table;
  const dial = new Int32Array(model.n).fill(-1);
  const isDns = (i: number) => textOf(model, table.protocol, i).toUpperCase() === "DNS";
  const seen = new Uint8Array(model.counts.connection);
  const firstOnConnection = new Uint8Array(model.n);
  let lookups = 0;
  for (let i = 0; i < model.n; i++) {
    if (direction[i] !== EGRESS) continue;
    if (isDns(i)) {
      lookups++;
      continue;
    }
    const c = model.connection[i] as number;
    if (!seen[c]) firstOnConnection[i] = 1;
    seen[c] = 1;
  }
  if (lookups === 0) return dial;
  const byProcess = groupBy(
    model.process,
    model.counts.process,
    (i) => direction[i] === EGRESS && (firstOnConnection[i] === 1 || isDns(i)),
  );
  const claimed = new Uint8Array(model.n);
  for (let p = 0; p < model.counts.process; p++) {
    const from = byProcess.offsets[p] as number;
    const to = byProcess.offsets[p + 1] as number;
    const dials: number[] = [];
    const dns: number[] = [];
    for (let m = from; m < to; m++) {
      const i = byProcess.members[m] as number;
      (firstOnConnection[i] ? dials : dns).push(i);
    }
    if (dials.length === 0 || dns.length === 0) continue;

    // Lookups in order of their answers; dials are in start order.
    dns.sort((a, b) => (end[a] as number) - (end[b] as number) || a - b);
    for (const d of dns) {
      const e = end[d] as number;
      const address = dnsAnswerAddress(payloads.text(payloadSlot(row[d] as number, RESPONSE)));
      const name = textOf(model, table.endpoint, d).split(" ").pop() ?? "";
      let lo = 0;
      let hi = dials.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((start[dials[mid] as number] as number) < e) lo = mid + 1;
        else hi = mid;
      }
      for (let k = lo; k < dials.length; k++) {
        const x = dials[k] as number;
        if ((start[x] as number) > e + MAX_DIAL_NS) break;
        if (claimed[x]) continue;
        const target = row[x] as number;
        const matches =
          address !== undefined
            ? (srcIp[target] as number) !== NO_CONNECTION &&
              strings[srcIp[target] as number] === address
            : name !== "" &&
              payloads.text(payloadSlot(target, REQUEST)).slice(0, 512).includes(name);
        if (!matches) continue;
        claimed[x] = 1;
        dial[d] = x;
        break;
      }
    }
  }
  return dial;
}

/** Give each lookup its dial's parent, when that parent was open at the lookup's start. */
export function inheritDialParents(
  model: SpanModel,
  links: Links,
  dial: Int32Array,
  fixed: Int32Array,
): number {
  const { start, end, thread, process } = model;
  // Per process, how often a linked call runs on its parent's thread.
  const agree = new Float64Array(model.counts.process);
  const total = new Float64Array(model.counts.process);
  for (let i = 0; i < model.n; i++) {
    const g = links.parent[i] as number;
    if (g < 0 || links.kind[i] === LINK_CROSS) continue;
    const p = process[i] as number;
    total[p] = (total[p] as number) + 1;
    if (thread[i] === thread[g]) agree[p] = (agree[p] as number) + 1;
  }
  let moved = 0;
  for (let d = 0; d < model.n; d++) {
    const x = dial[d] as number;
    if (x < 0 || (fixed[d] as number) >= 0) continue;
    // Where requests mostly keep their thread, a lookup linked on its own thread stays.
    const p = process[d] as number;
    const current = links.parent[d] as number;
    if (
      current >= 0 &&
      thread[current] === thread[d] &&
      (agree[p] as number) >= THREAD_KEPT * (total[p] as number)
    )
      continue;
    const g = links.parent[x] as number;
    if (
      g < 0 ||
      (start[g] as number) > (start[d] as number) ||
      (end[g] as number) < (start[d] as number)
    )
      continue;
    if (links.parent[d] !== g) moved++;
    links.set(d, g, LINK_INTRA, links.score[x] as number);
  }
  return moved;
}
