import { z } from "zod";
import { type ConfigFields, serviceKeys } from "../fields.js";

/** `[agent_manager]`: the fleet service. */
export function agentManagerSection(f: ConfigFields) {
  return z.strictObject({
    ...serviceKeys(f, 50051, 9461),
  });
}
