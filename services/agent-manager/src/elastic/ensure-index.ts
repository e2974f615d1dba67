import type { Client } from "@elastic/elasticsearch";

/** Creates an index with its mappings unless it exists; safe when several processes race. */
export async function ensureIndex(
  client: Client,
  index: string,
  mappings: Record<string, unknown>,
): Promise<void> {
  if (await client.indices.exists({ index })) return;
  try {
    await client.indices.create({ index, mappings: mappings as never });
  } catch (error) {
    const type = (error as { body?: { error?: { type?: string } } }).body?.error?.type;
    if (type !== "resource_already_exists_exception") throw error;
  }
}
