import { createHash } from "node:crypto";
import { spanIdFor, traceIdFor } from "@deeptrace/shared/spans/ids";
import { describe, expect, it } from "vitest";

describe("span and trace ids", () => {
  it("stay the sha256 prefixes they always were (stored documents keep their ids)", () => {
    const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);
    expect(spanIdFor("node1", "spans_node1", "d1")).toBe(sha("node1\0spans_node1\0d1"));
    expect(traceIdFor("abc")).toBe(sha("trace\0abc"));
  });
});
