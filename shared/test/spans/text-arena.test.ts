import { TextArena } from "@deeptrace/shared/spans/text-arena";
import { describe, expect, it } from "vitest";

describe("TextArena", () => {
  it("gives back every text as appended: Latin-1, beyond Latin-1, empty, longer than a chunk", () => {
    const arena = new TextArena(4);
    const long = "x".repeat((1 << 24) + 5);
    const payloads: [string, string][] = [
      ["GET /api/users?id=1 HTTP/1.1\r\nHost: a\r\n\r\n", 'HTTP/1.1 200 OK\r\n\r\n{"ü":"ÿ"}'],
      ["\u0000\u0001 binary \u00ff", "\ufffd\u0001mysql \u4e2d"],
      ["", ""],
      // Short texts are copied by a loop of their own: beyond Latin-1 in the middle, Latin-1 edge.
      ["GET / \u0100 x", "\u00ff\u0000"],
    ];
    const expected = (r: number): [string, string] =>
      r === 50 ? [long, "after a long one"] : (payloads[r % payloads.length] as [string, string]);
    // More slots than the arena was sized for, so its index grows too.
    for (let r = 0; r < 100; r++) {
      const [req, resp] = expected(r);
      arena.append(2 * r, req);
      arena.append(2 * r + 1, resp);
    }
    for (let r = 0; r < 100; r++) {
      const [req, resp] = expected(r);
      expect(arena.text(2 * r)).toBe(req);
      expect(arena.text(2 * r + 1)).toBe(resp);
    }
  });
});
