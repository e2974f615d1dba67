/**
 * The real Elasticsearch the integration tests run against: templates, bulk item statuses,
 * search, and point-in-time paging with search_after.
 */
import { randomBytes } from "node:crypto";
import { Client } from "@elastic/elasticsearch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { esUrl } from "../support/infrastructure.js";

interface SpanDoc {
  service: string;
  start: number;
  duration_us: number | string;
  payload: { body: string };
}

const prefix = `infra-${randomBytes(4).toString("hex")}`;
const template = `${prefix}-template`;
const index = `${prefix}-spans`;

function span(i: number, service: string): SpanDoc {
  return {
    service,
    start: 1_700_000_000_000 + i * 1_000,
    duration_us: 100 + i,
    payload: { body: `GET /item/${i}` },
  };
}

const spans = new Map<string, SpanDoc>([
  ["s1", span(1, "checkout")],
  ["s2", span(2, "cart")],
  ["s3", span(3, "checkout")],
  ["s4", span(4, "payment")],
  ["s5", span(5, "checkout")],
]);

describe("Elasticsearch", () => {
  let es: Client;

  beforeAll(() => {
    es = new Client({ node: esUrl() });
  });

  afterAll(async () => {
    await es.indices.delete({ index }, { ignore: [404] });
    await es.indices.deleteIndexTemplate({ name: template }, { ignore: [404] });
    await es.close();
  });

  it("applies a composable index template that is put idempotently", async () => {
    const body = {
      name: template,
      index_patterns: [`${prefix}-*`],
      template: {
        settings: { number_of_shards: 2, number_of_replicas: 0 },
        mappings: {
          dynamic: "strict" as const,
          properties: {
            service: { type: "keyword" as const },
            start: { type: "date" as const, format: "epoch_millis" },
            duration_us: { type: "long" as const },
            payload: { type: "object" as const, enabled: false },
          },
        },
      },
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await es.indices.putIndexTemplate(body)).toEqual({ acknowledged: true });
    }

    await es.indices.create({ index });
    const mapping = await es.indices.getMapping({ index });
    expect(mapping[index]?.mappings.properties?.payload).toEqual({
      type: "object",
      enabled: false,
    });
    const settings = await es.indices.getSettings({ index });
    expect(settings[index]?.settings?.index?.number_of_shards).toBe("2");
  });

  it("reports every bulk item's status, and rewriting the same ids overwrites", async () => {
    const operations = [...spans].flatMap(([id, doc]) => [
      { index: { _index: index, _id: id } },
      doc,
    ]);
    const bad: SpanDoc = { ...span(9, "checkout"), duration_us: "not a number" };
    const first = await es.bulk({
      operations: [...operations, { index: { _index: index, _id: "bad" } }, bad],
    });

    expect(first.errors).toBe(true);
    expect(first.items.map((item) => item.index?.status)).toEqual([201, 201, 201, 201, 201, 400]);
    expect(first.items[5]?.index?.error?.type).toMatch(/parsing_exception/);

    const second = await es.bulk({ operations, refresh: true });
    expect(second.errors).toBe(false);
    expect(second.items.map((item) => [item.index?.status, item.index?.result])).toEqual(
      Array.from({ length: spans.size }, () => [200, "updated"]),
    );
    expect((await es.count({ index })).count).toBe(spans.size);
  });

  it("searches indexed fields and keeps the unindexed payload in _source only", async () => {
    const checkout = await es.search<SpanDoc>({
      index,
      query: { term: { service: "checkout" } },
      sort: [{ start: "asc" }],
    });
    expect(checkout.hits.hits.map((hit) => hit._id)).toEqual(["s1", "s3", "s5"]);
    expect(checkout.hits.hits[0]?._source?.payload).toEqual({ body: "GET /item/1" });

    const byPayload = await es.search({ index, query: { match: { "payload.body": "item" } } });
    expect(byPayload.hits.hits).toHaveLength(0);
  });

  it("pages through a point in time with search_after, blind to later writes", async () => {
    const pit = await es.openPointInTime({ index, keep_alive: "1m" });
    await es.index({ index, id: "late", document: span(0, "checkout"), refresh: true });

    const seen: string[] = [];
    let searchAfter: (string | number)[] | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await es.search<SpanDoc>({
        size: 2,
        pit: { id: pit.id, keep_alive: "1m" },
        sort: [{ start: "asc" }, { _shard_doc: "asc" }],
        ...(searchAfter ? { search_after: searchAfter } : {}),
      });
      const hits = result.hits.hits;
      if (hits.length === 0) break;
      seen.push(...hits.map((hit) => hit._id ?? "?"));
      searchAfter = hits.at(-1)?.sort as (string | number)[];
    }

    expect(seen).toEqual(["s1", "s2", "s3", "s4", "s5"]);
    expect((await es.count({ index })).count).toBe(spans.size + 1);
    expect(await es.closePointInTime({ id: pit.id })).toMatchObject({
      succeeded: true,
      num_freed: 2,
    });
  });
});
