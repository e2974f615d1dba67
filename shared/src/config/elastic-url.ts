import type { Config } from "./schema.js";

/** Elasticsearch address: `elastic.url`, else the upstream shape `http://<server.ip>:<elastic.port>`. */
export function elasticUrl(config: Config): string {
  return config.elastic.url ?? `http://${config.server.ip}:${config.elastic.port}`;
}
