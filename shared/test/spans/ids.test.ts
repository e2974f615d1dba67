import { createHash } from "node:crypto";
import { spanIdFor, traceIdFor } from "@deeptrace/shared/spans/ids";
import { describe, expect, it } from "vitest";

describe("span and trace ids", () => {
  it("stay the sha256 prefixes they always were (stored documents keep their ids)", () => {
    const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);
    expect(spanIdFor("node1", "spans_node1", "d1")).toBe(sha("node1\0spans_node1\0d1"));
    expect(traceIdFor("abc")).toBe(sha("trace\0abc"));
  });

  it("gives the same span id for the same document and different ids otherwise", () => {
    expect(spanIdFor("a", "spans_a", "1")).toBe(spanIdFor("a", "spans_a", "1"));
    expect(spanIdFor("a", "spans_a", "1")).not.toBe(spanIdFor("a", "spans_a", "2"));
    // The separator keeps ("ab","c") and ("a","bc") apart.
    expect(spanIdFor("ab", "c", "1")).not.toBe(spanIdFor("a", "bc", "1"));
    expect(spanIdFor("a", "spans_a", "1")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("derives the trace id from the root span id only", () => {
    const root = spanIdFor("a", "spans_a", "1");
    expect(traceIdFor(root)).toBe(traceIdFor(root));
    expect(traceIdFor(root)).not.toBe(root);
    expect(traceIdFor(root)).not.toBe(traceIdFor(spanIdFor("a", "spans_a", "2")));
  });
});
