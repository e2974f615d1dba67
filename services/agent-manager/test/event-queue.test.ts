import { describe, expect, it } from "vitest";
import { EventQueue } from "../src/fleet/event-queue.js";

describe("EventQueue", () => {
  it("yields what was pushed, before and while iterating, until ended", async () => {
    const queue = new EventQueue<number>();
    queue.push(1);
    setTimeout(() => {
      queue.push(2);
      queue.end();
      queue.push(3);
    }, 10);
    const seen: number[] = [];
    for await (const n of queue) seen.push(n);
    expect(seen).toEqual([1, 2]);
  });

  it("stops at once when its signal aborts (a cancelled stream)", async () => {
    const abort = new AbortController();
    const queue = new EventQueue<number>(abort.signal);
    setTimeout(() => abort.abort(), 10);
    const seen: number[] = [];
    for await (const n of queue) seen.push(n);
    expect(seen).toEqual([]);
  });
});
