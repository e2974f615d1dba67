import type { Client } from "@elastic/elasticsearch";

/**
 * End time (host monotonic ns) of the freshest span in an agent's index; undefined when the
 * index is missing or empty. Read as a string field so nanoseconds keep their precision.
 */
export async function freshestSpanMonotonicNs(
  client: Client,
  index: string,
): Promise<bigint | undefined> {
  const response = await client.search(
    {
      index,
      size: 1,
      sort: [{ "metric.end_time": { order: "desc", unmapped_type: "long" } }],
      _source: ["metric.end_time"],
      ignore_unavailable: true,
      allow_no_indices: true,
    },
    { ignore: [404] },
  );
  const hit = response.hits?.hits?.[0];
  const sort = hit?.sort?.[0];
  if (typeof sort === "number" || typeof sort === "string") return BigInt(sort);
  return undefined;
}
