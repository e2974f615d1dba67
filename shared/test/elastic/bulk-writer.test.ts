import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  classifyBulkItems,
  classifyStatus,
  deadLetterForRejection,
  serializeDocument,
} from "../../src/elastic/bulk-writer.js";

describe("classifyStatus", () => {
  const classify = (status: number) => classifyStatus(status);
  it("stores 2xx, retries 429 and 5xx, rejects other 4xx", () => {
    expect([200, 201].map(classify)).toEqual(["written", "written"]);
    expect([429, 500, 502, 503].map(classify)).toEqual(["retry", "retry", "retry", "retry"]);
    expect([400, 404, 409, 413].map(classify)).toEqual(["reject", "reject", "reject", "reject"]);
  });

  it("counts a version conflict as superseded: a newer version is stored", () => {
    expect(classifyStatus(409, "version_conflict_engine_exception")).toBe("superseded");
    expect(classifyStatus(409, "some_other_conflict")).toBe("reject");
  });
});

describe("classifyBulkItems", () => {
  it("reads every item and keeps the reason of each failure", () => {
    const result = classifyBulkItems(
      [
        { index: { _id: "a", status: 201 } },
        {
          index: {
            _id: "b",
            status: 429,
            error: { type: "es_rejected_execution_exception", reason: "queue full" },
          },
        },
        {
          index: {
            _id: "c",
            status: 400,
            error: { type: "document_parsing_exception", reason: "bad field" },
          },
        },
        { index: { _id: "d", status: 200 } },
        {
          index: {
            _id: "e",
            status: 409,
            error: { type: "version_conflict_engine_exception", reason: "current version [2]" },
          },
        },
      ],
      ["a", "b", "c", "d", "e"],
    );
    expect(result.written).toEqual([0, 3]);
    expect(result.superseded).toEqual([4]);
    expect(result.retry).toEqual([
      { position: 1, status: 429, type: "es_rejected_execution_exception", reason: "queue full" },
    ]);
    expect(result.reject).toEqual([
      { position: 2, status: 400, type: "document_parsing_exception", reason: "bad field" },
    ]);
  });

  it("never counts a missing or mismatched item as written", () => {
    const result = classifyBulkItems([{ index: { _id: "x", status: 201 } }], ["a", "b"]);
    expect(result.written).toEqual([]);
    expect(result.retry.map((f) => [f.position, f.type])).toEqual([
      [0, "id_mismatch"],
      [1, "missing_item"],
    ]);
  });
});

describe("backoffDelayMs", () => {
  const options = { initialMs: 100, maxMs: 5_000 };
  it("doubles the ceiling per attempt up to the maximum", () => {
    const top = () => 1;
    expect([0, 1, 2, 3, 6, 20].map((a) => backoffDelayMs(a, options, top))).toEqual([
      100, 200, 400, 800, 5_000, 5_000,
    ]);
  });
  it("jitters uniformly below the ceiling", () => {
    expect(backoffDelayMs(3, options, () => 0)).toBe(0);
    expect(backoffDelayMs(3, options, () => 0.5)).toBe(400);
  });
});

describe("serializeDocument and dead letters", () => {
  it("writes bigints as exact decimal strings", () => {
    expect(serializeDocument({ t: 1_700_000_000_123_456_789n })).toBe(
      '{"t":"1700000000123456789"}',
    );
  });
  it("records a rejected document with its reason under an id that a repeat overwrites", () => {
    const letter = deadLetterForRejection(
      "p-dead-letters",
      { index: "p-traces", id: "t1", source: '{"x":1}' },
      { position: 0, status: 400, type: "strict_dynamic_mapping_exception", reason: "no x" },
    );
    expect(letter.index).toBe("p-dead-letters");
    expect(letter.id).toBe("doc:p-traces:t1");
    const source = JSON.parse(letter.source);
    expect(source).toMatchObject({
      kind: "rejected_document",
      reason: "strict_dynamic_mapping_exception: no x",
      status: 400,
      target_index: "p-traces",
      target_id: "t1",
      payload: '{"x":1}',
      payload_bytes: 7,
    });
  });
});
