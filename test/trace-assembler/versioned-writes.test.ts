import { BulkWriter, serializeDocument } from "@deeptrace/shared/elastic/bulk-writer";
import { afterAll, describe, expect, it } from "vitest";
import { elasticClient } from "./support/harness.js";

const es = elasticClient();
const index = `dt-versioned-${process.pid}-${Date.now()}`;

describe("bulk writes with an external version against Elasticsearch", () => {
  afterAll(async () => {
    await es.indices.delete({ index, ignore_unavailable: true });
    await es.close();
  });

  it("never let a lower version overwrite a higher one, and count it as superseded", async () => {
    const writer = new BulkWriter(es, {
      deadLetterIndex: `${index}-dead-letters`,
      maxDocuments: 100,
      maxBytes: 1024 * 1024,
      concurrency: 1,
      backoff: { initialMs: 50, maxMs: 200 },
      deadlineMs: 10_000,
      refresh: true,
    });
    const doc = (version: number, value: string) => ({
      index,
      id: "w-1",
      version,
      source: serializeDocument({ value }),
    });
    const stored = async () => (await es.get<{ value: string }>({ index, id: "w-1" }))._source;

    expect(await writer.write([doc(1, "revision 1")])).toMatchObject({ written: 1, superseded: 0 });
    expect(await writer.write([doc(0, "revision 0")])).toMatchObject({ written: 0, superseded: 1 });
    expect(await stored()).toEqual({ value: "revision 1" });
    // A redelivery of the same revision overwrites; a newer one replaces it.
    expect(await writer.write([doc(1, "revision 1 again")])).toMatchObject({ written: 1 });
    expect(await stored()).toEqual({ value: "revision 1 again" });
    expect(await writer.write([doc(2, "revision 2")])).toMatchObject({ written: 1 });
    expect(await stored()).toEqual({ value: "revision 2" });
    expect(await es.indices.exists({ index: `${index}-dead-letters` })).toBe(false);
  });
});
