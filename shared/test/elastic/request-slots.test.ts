import { describe, expect, it } from "vitest";
import { RequestSlots } from "../../src/elastic/request-slots.js";

describe("RequestSlots", () => {
  it("lets `size` requests through at once and serves the others in the order they asked", async () => {
    const slots = new RequestSlots(2);
    const order: string[] = [];
    const first = await slots.acquire();
    const second = await slots.acquire();
    const waiters = ["a", "b", "c"].map((name) =>
      slots.acquire().then((release) => {
        order.push(name);
        return release;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]);
    first();
    first(); // releasing twice frees one slot only
    const a = await waiters[0];
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(["a"]);
    second();
    (await waiters[1])?.();
    a?.();
    await waiters[2];
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("drops a waiter whose signal aborts, and the slot goes to the next one", async () => {
    const slots = new RequestSlots(1);
    const held = await slots.acquire();
    const abort = new AbortController();
    const aborted = slots.acquire(abort.signal);
    const next = slots.acquire();
    abort.abort(new Error("shutting down"));
    await expect(aborted).rejects.toThrow("shutting down");
    held();
    await expect(next).resolves.toBeTypeOf("function");
    await expect(slots.acquire(abort.signal)).rejects.toThrow("shutting down");
  });

  it("refuses a size that is not a positive integer", () => {
    expect(() => new RequestSlots(0)).toThrow(/positive integer, got 0/);
  });
});
