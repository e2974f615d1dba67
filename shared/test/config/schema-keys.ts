import { ENV_PREFIX } from "@deeptrace/shared/config/env-overrides";
import type { z } from "zod";

/** Marks "each element of an array" in a key path, as in `agents[].agent_info.host_ip`. */
const ELEMENT = "[]";

/** A configuration key the reference must document: one per key with a value of its own. */
export interface SchemaKey {
  /** Dotted path, e.g. `elastic.url` or `agents[].agent_info.host_ip`. */
  path: string;
  /** The override variable; an array index is written `<N>`. */
  envVariable: string;
  /** The key's own schema, wrappers (optional, default) included. */
  schema: z.ZodType;
}

/**
 * Walks a zod schema into its keys: objects are entered key by key, arrays of objects
 * through their element (the array itself is a key too, with its own default); records,
 * whose keys are free, and every other type end the walk.
 */
export function schemaKeys(schema: z.ZodType, path: string[] = []): SchemaKey[] {
  const bare = unwrap(schema);
  const def = bare._zod.def;
  if (def.type === "object") {
    const shape = (def as z.core.$ZodObjectDef).shape;
    return Object.entries(shape).flatMap(([key, value]) =>
      schemaKeys(value as z.ZodType, [...path, key]),
    );
  }
  const own = path.length > 0 ? [describeKey(schema, path)] : [];
  if (def.type === "array") {
    const element = (def as z.core.$ZodArrayDef).element as z.ZodType;
    const ofObjects = unwrap(element)._zod.def.type === "object";
    return [...own, ...(ofObjects ? schemaKeys(element, [...path, ELEMENT]) : [])];
  }
  return own;
}

/** Strips optional, default, prefault, nullable and similar wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { innerType?: z.ZodType };
    if (def.innerType === undefined) return current;
    current = def.innerType;
  }
}

function describeKey(schema: z.ZodType, path: string[]): SchemaKey {
  const envPath = path.map((segment) => (segment === ELEMENT ? "<N>" : segment.toUpperCase()));
  return { path: displayPath(path), envVariable: `${ENV_PREFIX}${envPath.join("__")}`, schema };
}

function displayPath(path: string[]): string {
  return path.join(".").replaceAll(`.${ELEMENT}`, ELEMENT);
}
