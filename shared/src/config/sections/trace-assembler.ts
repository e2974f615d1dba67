import { z } from "zod";
import { type ConfigFields, serviceKeys } from "../fields.js";

/** `[trace_assembler]`: consumes windows, writes traces, serves queries. */
export function traceAssemblerSection(f: ConfigFields) {
  return z.strictObject({
    ...serviceKeys(f, 50053, 9463),
  });
}
