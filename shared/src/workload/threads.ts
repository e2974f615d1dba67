import { allocatePid, type Host } from "./hosts.js";
import type { Rng } from "./rng.js";
import type { ThreadModel } from "./topology.js";

/**
 * Thread ids of one simulated process, as they appear in the agent's `pid` field.
 * Worker threads are pooled and reused (most recently released first), as real thread
 * pools do; goroutine runtimes multiplex over a few OS threads; event loops and Redis
 * use the main thread.
 */
export class ThreadIds {
  private readonly free: number[] = [];
  private readonly osThreads: number[] = [];
  private readonly executors: number[] = [];

  constructor(
    private readonly host: Host,
    readonly tgid: number,
    readonly model: ThreadModel,
    private readonly rng: Rng,
  ) {
    if (model === "goroutine") {
      // GOMAXPROCS-sized set plus a couple of threads blocked in syscalls.
      const n = rng.int(4, 8);
      this.osThreads.push(tgid);
      for (let i = 1; i < n; i++) this.osThreads.push(allocatePid(host));
    }
    if (model === "per-request") {
      const n = rng.int(4, 8);
      for (let i = 0; i < n; i++) this.executors.push(allocatePid(host));
    }
  }

  /** A pooled worker thread (per-request and per-connection models). */
  acquireWorker(): number {
    return this.free.pop() ?? allocatePid(this.host);
  }

  releaseWorker(tid: number): void {
    this.free.push(tid);
  }

  /** Thread that serves an incoming request; `releaseServing` must be called with it. */
  serving(): number {
    switch (this.model) {
      case "per-request":
        return this.acquireWorker();
      case "goroutine":
        return this.rng.pick(this.osThreads);
      default:
        return this.tgid;
    }
  }

  releaseServing(tid: number): void {
    if (this.model === "per-request") this.releaseWorker(tid);
  }

  /** Thread that makes an outgoing call for a request served on `servingThread`. */
  calling(servingThread: number, parallel: boolean): number {
    switch (this.model) {
      case "per-request":
        return parallel ? this.rng.pick(this.executors) : servingThread;
      case "goroutine":
        return this.rng.pick(this.osThreads);
      default:
        return this.tgid;
    }
  }
}
