import type { Config } from "./schema.js";

/**
 * The configuration as the service will use it, as JSON. Secrets are Secret objects whose
 * JSON form is "[redacted]", so nothing secret is printed.
 */
export function effectiveConfigJson(config: Config): string {
  return JSON.stringify(config, null, 2);
}
