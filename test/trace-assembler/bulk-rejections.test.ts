import { encodeEntries } from "@deeptrace/shared/elastic/bulk-entries";
import { BulkWriter, serializeDocument } from "@deeptrace/shared/elastic/bulk-writer";
import { afterAll, describe, expect, it } from "vitest";
import { elasticClient } from "./support/harness.js";

const es = elasticClient();
const index = `dt-rejections-${process.pid}-${Date.now()}`;
const deadLetters = `${index}-dead-letters`;

describe("bulk items Elasticsearch refuses for good", () => {
  afterAll(async () => {
    await es.indices.delete({ index: [index, deadLetters], ignore_unavailable: true });
    await es.close();
  });

  it("go to the dead-letter index with their source and reason, and the others are stored", async () => {
    await es.indices.create({
      index,
      mappings: { dynamic: "strict", properties: { n: { type: "integer" } } },
    });
    const writer = new BulkWriter(es, {
      deadLetterIndex: deadLetters,
      // Two batches, so the rejected documents sit at other positions than in the write.
      maxDocuments: 3,
      maxBytes: 1024 * 1024,
      concurrency: 2,
      backoff: { initialMs: 50, maxMs: 200 },
      deadlineMs: 10_000,
      refresh: true,
    });
    const documents = [
      { n: 1 },
      { n: "not a number" },
      { n: 3 },
      { n: 4 },
      { unknown: "caf\u00e9" },
      { n: 6 },
    ].map((source, i) => ({ index, id: `d${i}`, source: serializeDocument(source) }));

    // Encoded up front (as the assembler's worker hands them over) and as they are.
    for (const input of [encodeEntries(documents), documents]) {
      expect(await writer.write(input)).toMatchObject({ written: 4, deadLettered: 2 });
    }
    const stored = await es.search<{ n: number }>({ index, size: 10, sort: ["n"] });
    expect(stored.hits.hits.map((h) => h._id)).toEqual(["d0", "d2", "d3", "d5"]);
    const letters = (
      await es.search<Record<string, unknown>>({ index: deadLetters, size: 10 })
    ).hits.hits.sort((a, b) => String(a._id).localeCompare(String(b._id)));
    expect(letters.map((h) => h._id)).toEqual([`doc:${index}:d1`, `doc:${index}:d4`]);
    const [bad, unknown] = letters.map((h) => h._source);
    expect(bad).toMatchObject({
      kind: "rejected_document",
      target_id: "d1",
      payload: documents[1]?.source,
    });
    expect(String(bad?.reason)).toMatch(/^document_parsing_exception|^mapper_parsing_exception/);
    expect(unknown).toMatchObject({
      target_id: "d4",
      payload: documents[4]?.source,
      payload_bytes: Buffer.byteLength(documents[4]?.source as string),
    });
    expect(String(unknown?.reason)).toMatch(/strict_dynamic_mapping_exception/);
  });
});
