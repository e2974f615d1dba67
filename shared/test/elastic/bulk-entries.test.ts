import { describe, expect, it } from "vitest";
import {
  actionLine,
  batchEntries,
  encodeEntries,
  entriesBody,
  entrySource,
} from "../../src/elastic/bulk-entries.js";

const docs = [
  { index: "dt-spans", id: "s1", source: '{"p":"caf\u00e9 \ufffd \u{1f600}"}', version: 2 },
  { index: "dt-traces", id: "t1", source: '{"n":1}' },
  { index: "dt-traces", id: 't"2', source: '{"line":"a\\nb"}', version: 7 },
];

describe("actionLine", () => {
  it("indexes under the id, with the external version when the document has one", () => {
    const doc = { index: "dt-traces", id: 'a"b', source: "{}" };
    expect(JSON.parse(actionLine(doc))).toEqual({ index: { _index: "dt-traces", _id: 'a"b' } });
    expect(JSON.parse(actionLine({ ...doc, version: 3 }))).toEqual({
      index: { _index: "dt-traces", _id: 'a"b', version: 3, version_type: "external_gte" },
    });
  });
});

describe("encodeEntries", () => {
  const entries = encodeEntries(docs);
  const all = entriesBody(entries, [0, 1, 2]);

  it("is an action line and a source line per document, newline-terminated UTF-8", () => {
    const text = all.toString("utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1).split("\n")).toEqual(docs.flatMap((d) => [actionLine(d), d.source]));
    expect(all.length).toBe(Buffer.byteLength(text));
    expect(entries.ids).toEqual(["s1", "t1", 't"2']);
    expect(entries.indices).toEqual(["dt-spans", "dt-traces", "dt-traces"]);
  });

  it("owns its buffer, so it can be handed to another thread whole", () => {
    expect(entries.bytes.byteOffset).toBe(0);
    expect(entries.bytes.buffer.byteLength).toBe(entries.ends[2]);
  });

  it("sends consecutive documents as a view of the buffer and others as a copy", () => {
    const middle = entriesBody(entries, [1, 2]);
    expect(middle.buffer).toBe(entries.bytes.buffer);
    expect(middle.toString()).toBe(
      `${actionLine(docs[1] as (typeof docs)[number])}\n{"n":1}\n${actionLine(docs[2] as (typeof docs)[number])}\n${docs[2]?.source}\n`,
    );
    const scattered = entriesBody(entries, [0, 2]);
    expect(scattered.buffer).not.toBe(entries.bytes.buffer);
    expect(scattered.toString().split("\n")).toEqual([
      actionLine(docs[0] as (typeof docs)[number]),
      docs[0]?.source,
      actionLine(docs[2] as (typeof docs)[number]),
      docs[2]?.source,
      "",
    ]);
  });

  it("gives each document's source back as text", () => {
    expect([0, 1, 2].map((p) => entrySource(entries, p))).toEqual(docs.map((d) => d.source));
  });

  it("is empty for no documents", () => {
    const none = encodeEntries([]);
    expect(none.bytes.length).toBe(0);
    expect(entriesBody(none, []).length).toBe(0);
    expect(batchEntries(none, 10, 100)).toEqual([]);
  });
});

describe("batchEntries", () => {
  const doc = (id: string, bytes: number) => ({ index: "i", id, source: "x".repeat(bytes) });
  it("cuts by document count and by body size, keeping order", () => {
    const five = encodeEntries(["a", "b", "c", "d", "e"].map((id) => doc(id, 10)));
    expect(batchEntries(five, 2, 1_000_000)).toEqual([[0, 1], [2, 3], [4]]);
    const big = encodeEntries([doc("a", 500), doc("b", 500), doc("c", 10)]);
    expect(batchEntries(big, 100, 700)).toEqual([[0], [1, 2]]);
  });
  it("sends a document larger than the limit alone", () => {
    expect(batchEntries(encodeEntries([doc("a", 2_000)]), 10, 100)).toEqual([[0]]);
  });
});
