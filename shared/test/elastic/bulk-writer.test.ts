import { describe, expect, it } from "vitest";
import {
  actionLine,
  backoffDelayMs,
  batchDocuments,
  bulkBody,
  classifyBulkItems,
  classifyStatus,
  deadLetterForRejection,
  encodeSources,
  serializeDocument,
  sourceText,
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

describe("actionLine", () => {
  it("indexes under the id, with the external version when the document has one", () => {
    const doc = { index: "dt-traces", id: 'a"b', source: "{}" };
    expect(JSON.parse(actionLine(doc))).toEqual({ index: { _index: "dt-traces", _id: 'a"b' } });
    expect(JSON.parse(actionLine({ ...doc, version: 3 }))).toEqual({
      index: { _index: "dt-traces", _id: 'a"b', version: 3, version_type: "external_gte" },
    });
  });
});

describe("bulkBody", () => {
  it("is an action line and a source line per document, newline-terminated UTF-8", () => {
    const docs = [
      { index: "dt-spans", id: "s1", source: '{"p":"caf\u00e9 \ufffd"}', version: 2 },
      { index: "dt-traces", id: "t1", source: '{"n":1}' },
    ];
    const body = bulkBody(docs);
    const text = body.toString("utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1).split("\n")).toEqual([
      actionLine(docs[0] as (typeof docs)[number]),
      docs[0]?.source,
      actionLine(docs[1] as (typeof docs)[number]),
      docs[1]?.source,
    ]);
    expect(body.length).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text.split("\n")[1] as string)).toEqual({ p: "caf\u00e9 \ufffd" });
  });

  it("is empty for no documents", () => {
    expect(bulkBody([]).length).toBe(0);
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

describe("batchDocuments", () => {
  const doc = (id: string, bytes: number) => ({ index: "i", id, source: "x".repeat(bytes) });
  it("cuts by document count and by body size, keeping order", () => {
    const docs = ["a", "b", "c", "d", "e"].map((id) => doc(id, 10));
    expect(batchDocuments(docs, 2, 1_000_000).map((b) => b.map((d) => d.id))).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e"],
    ]);
    const big = [doc("a", 500), doc("b", 500), doc("c", 10)];
    expect(batchDocuments(big, 100, 700).map((b) => b.map((d) => d.id))).toEqual([
      ["a"],
      ["b", "c"],
    ]);
  });
  it("sends a document larger than the limit alone", () => {
    expect(batchDocuments([doc("a", 2_000)], 10, 100)).toHaveLength(1);
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
    const source = JSON.parse(sourceText(letter.source));
    expect(source).toMatchObject({
      kind: "rejected_document",
      reason: "strict_dynamic_mapping_exception: no x",
      status: 400,
      target_index: "p-traces",
      target_id: "t1",
      payload: '{"x":1}',
    });
  });
});

describe("encodeSources", () => {
  const docs = [
    { index: "dt-spans", id: "s1", source: '{"p":"caf\u00e9 \ufffd \u{1f600}"}', version: 1 },
    { index: "dt-traces", id: "t1", source: '{"n":1}' },
  ];

  it("puts every source's UTF-8 bytes into one buffer the documents view", () => {
    const { documents, buffer } = encodeSources(docs);
    expect(buffer.byteLength).toBe(docs.reduce((n, d) => n + Buffer.byteLength(d.source), 0));
    for (const [i, document] of documents.entries()) {
      expect(document.source).toBeInstanceOf(Uint8Array);
      expect((document.source as Uint8Array).buffer).toBe(buffer);
      expect(sourceText(document.source)).toBe(docs[i]?.source);
      expect({ ...document, source: undefined }).toEqual({ ...docs[i], source: undefined });
    }
  });

  it("gives the same bulk body as the text sources", () => {
    expect(bulkBody(encodeSources(docs).documents).equals(bulkBody(docs))).toBe(true);
  });

  it("keeps a rejected encoded document's payload readable in its dead letter", () => {
    const [encoded] = encodeSources(docs).documents;
    const letter = deadLetterForRejection("p-dead-letters", encoded as (typeof docs)[number], {
      position: 0,
      status: 400,
      type: "mapper_parsing_exception",
      reason: "bad",
    });
    const source = JSON.parse(sourceText(letter.source));
    expect(source.payload).toBe(docs[0]?.source);
    expect(source.payload_bytes).toBe(Buffer.byteLength(docs[0]?.source as string));
  });
});
