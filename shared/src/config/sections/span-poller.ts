import { z } from "zod";
import { type ConfigFields, serviceKeys } from "../fields.js";

/** `[span_poller]`: reads agent span indices and publishes windows. */
export function spanPollerSection(f: ConfigFields) {
  return z.strictObject({
    ...serviceKeys(f, 50052, 9462),
  });
}
