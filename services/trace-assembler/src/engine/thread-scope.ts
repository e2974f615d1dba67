/**
 * Whether a process's thread ids identify requests.
 *
 * A thread-per-request server (a Java or Python worker pool) runs one request at a time
 * on each worker, so two Ingress spans of the process that overlap in time never share a
 * thread id: there a call on the same thread as a candidate parent is strong evidence.
 * Goroutine runtimes multiplex many requests over a few OS threads and event loops run
 * every request on one thread, so overlapping Ingress spans share thread ids all the time
 * and the same thread says nothing about the parent.
 *
 * Measured per process, without ground truth: the share of its Ingress spans that start
 * while no other Ingress span started on the same thread is still open. One sweep per
 * process in start order.
 */
import { groupBy, INGRESS, type SpanModel } from "./model.js";

/** Per process: share (0..1) of Ingress spans that start on a thread no open Ingress span holds; 0 without Ingress spans. */
export function requestScopedThreads(model: SpanModel): Float64Array {
  const { direction, end, start, thread } = model;
  const byProcess = groupBy(model.process, model.counts.process, (i) => direction[i] === INGRESS);
  const scoped = new Float64Array(model.counts.process);
  // Latest end of an Ingress span per thread id, in this process.
  const busyUntil = new Map<number, number>();
  for (let p = 0; p < model.counts.process; p++) {
    const from = byProcess.offsets[p] as number;
    const to = byProcess.offsets[p + 1] as number;
    if (to === from) continue;
    busyUntil.clear();
    let alone = 0;
    for (let m = from; m < to; m++) {
      const i = byProcess.members[m] as number;
      const t = thread[i] as number;
      const until = busyUntil.get(t);
      if (until === undefined || until <= (start[i] as number)) alone++;
      const e = end[i] as number;
      if (until === undefined || e > until) busyUntil.set(t, e);
    }
    scoped[p] = alone / (to - from);
  }
  return scoped;
}
