import { StringTexts, TextArena, textBytes } from "@deeptrace/shared/spans/text-arena";
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

  it("locates Latin-1 texts as bytes in place, not those kept as strings", () => {
    const arena = new TextArena(2);
    const texts = ["GET / HTTP/1.1\r\n\u00ff\u0000", "", "wide \u4e2d", "y".repeat(200), "z"];
    for (const [slot, t] of texts.entries()) arena.append(slot, t);
    const view = textBytes();
    const located = texts.map((_, slot) =>
      arena.locate(slot, view)
        ? Buffer.from(view.bytes.subarray(view.offset, view.offset + view.length)).toString(
            "latin1",
          )
        : undefined,
    );
    expect(located).toEqual([texts[0], "", undefined, texts[3], "z"]);
    expect(new StringTexts(texts).locate()).toBe(false);
  });
});
