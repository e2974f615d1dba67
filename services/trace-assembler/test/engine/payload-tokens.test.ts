import { StringTexts } from "@deeptrace/shared/spans/text-arena";
import { describe, expect, it } from "vitest";
import { maskPropagatedIds, spanTokens } from "../../src/engine/payload-tokens.js";

describe("propagated-id masking", () => {
  it("blanks X-Request-Id, request_id, traceparent, b3, X-B3-* and uber-trace-id values, any case", () => {
    const payload =
      "GET /a?order_id=42 HTTP/1.1\r\nx-request-id: 4dae3ec3-9efd-4777-9703-aade14d42dc2\r\n" +
      "TraceParent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n" +
      "b3: 80f198ee56343ba8-e457b5a2e4d86bd1-1\r\nX-B3-TraceId: 463ac35c9f6413ad\r\n" +
      'uber-trace-id: abc:def:0:1\r\n\r\n{"request_id":"r-77","user_id":5}';
    expect(maskPropagatedIds(payload)).toBe(
      "GET /a?order_id=42 HTTP/1.1\r\nx-request-id: \r\nTraceParent: \r\nb3: \r\nX-B3-TraceId: \r\n" +
        'uber-trace-id: \r\n\r\n{"request_id":"","user_id":5}',
    );
  });

  it("leaves other headers and lookalike names alone", () => {
    const payload = "X-Request-Idx: 1\r\nmyb3: 2\r\nHost: b3\r\n";
    expect(maskPropagatedIds(payload)).toBe(payload);
  });
});

describe("rare payload tokens", () => {
  it("keeps values shared by a few spans across protocols, not boilerplate or unique ones", () => {
    const payloads: [string, string][] = [];
    for (let k = 0; k < 100; k++) {
      payloads.push([
        `GET /api/cart?user_id=${100000 + k} HTTP/1.1\r\nHost: cart\r\n\r\n`,
        "HTTP/1.1 200 OK",
      ]);
      payloads.push([`*2\r\n$7\r\nHGETALL\r\n$11\r\ncart:${100000 + k}\r\n`, `:${900000 + k}\r\n`]);
    }
    const t = spanTokens(
      payloads.length,
      payloads.map((_, i) => i),
      { texts: new StringTexts(payloads.flat()), slot: (i, side) => 2 * i + side },
      {
        maxChars: 1024,
        maxDf: 0,
        maskPropagatedIds: false,
      },
    );
    for (let k = 0; k < 100; k++) {
      const http = t.ids.slice(t.offsets[2 * k], t.offsets[2 * k + 1]);
      const redis = t.ids.slice(t.offsets[2 * k + 1], t.offsets[2 * k + 2]);
      // The user id is the one rare token of each, and they are the same token.
      expect(http.length).toBe(1);
      expect([...redis]).toEqual([...http]);
    }
  });

  it("ends a token at any non-ASCII character of a string, as at a byte above 0x7f", () => {
    // U+0161 and U+4E2D have low bytes 0x61 ('a') and 0x2D: read as bytes they would join
    // or split the tokens differently.
    const payloads: [string, string][] = [
      ["order\u0161item42", ""],
      ["order item42", ""],
      ["cart\u4e2dx77", ""],
      ["cart\u00e9x77", ""],
    ];
    const t = spanTokens(
      payloads.length,
      payloads.map((_, i) => i),
      { texts: new StringTexts(payloads.flat()), slot: (i, side) => 2 * i + side },
      { maxChars: 1024, maxDf: 0, maskPropagatedIds: false },
    );
    const of = (i: number) => [...t.ids.slice(t.offsets[i], t.offsets[i + 1])];
    expect(of(0)).toHaveLength(2);
    expect(of(0)).toEqual(of(1));
    expect(of(2)).toHaveLength(2);
    expect(of(2)).toEqual(of(3));
  });
});
