import { readFileSync } from "node:fs";
import { Client } from "@elastic/elasticsearch";
import { elasticUrl } from "../config/elastic-url.js";
import type { Config } from "../config/schema.js";

/** An Elasticsearch client from the `[elastic]` section; the password comes from a secret reference. */
export function createElasticClient(config: Config): Client {
  const { elastic } = config;
  const password = elastic.password ?? elastic.elastic_password;
  return new Client({
    node: elasticUrl(config),
    requestTimeout: elastic.request_timeout * 1000,
    ...(password
      ? { auth: { username: elastic.username ?? "elastic", password: password.reveal() } }
      : {}),
    ...(elastic.ca_file ? { tls: { ca: readFileSync(elastic.ca_file) } } : {}),
  });
}
