import type { Client } from "@elastic/elasticsearch";
import { REGISTRY_MAPPINGS, type RegistryDocument } from "../inventory/registry-document.js";
import { ensureIndex } from "./ensure-index.js";

/** The agent registry index: one document per agent, id = agent name, never secrets. */
export class RegistryStore {
  constructor(
    private readonly client: Client,
    readonly index: string,
  ) {}

  async init(): Promise<void> {
    await ensureIndex(this.client, this.index, REGISTRY_MAPPINGS);
  }

  async loadAll(): Promise<RegistryDocument[]> {
    const response = await this.client.search<RegistryDocument>({
      index: this.index,
      size: 10_000,
      query: { match_all: {} },
    });
    return response.hits.hits.flatMap((hit) => (hit._source ? [hit._source] : []));
  }

  /** Writes an agent; `visible` waits until searches see it (inventory changes). */
  async put(doc: RegistryDocument, visible = false): Promise<void> {
    await this.client.index({
      index: this.index,
      id: doc.name,
      document: doc,
      ...(visible ? { refresh: "wait_for" as const } : {}),
    });
  }

  async delete(name: string): Promise<void> {
    await this.client.delete(
      { index: this.index, id: name, refresh: "wait_for" },
      { ignore: [404] },
    );
  }
}
