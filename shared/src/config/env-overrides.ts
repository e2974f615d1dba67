import { parse as parseToml } from "smol-toml";

/** Prefix of environment variables that override configuration keys. */
export const ENV_PREFIX = "DEEPTRACE__";

export interface EnvOverride {
  /** The variable, e.g. DEEPTRACE__ELASTIC__URL. */
  variable: string;
  /** The key path it sets, e.g. ["elastic", "url"] or ["agents", "0", "agent_info", "host_ip"]. */
  path: string[];
}

/**
 * Applies DEEPTRACE__SECTION__KEY=value variables to the parsed file (in place) and returns
 * which key each one set. Path segments are lower-cased; a numeric segment indexes an array
 * ([[agents]]). Values are read as TOML values (numbers, booleans, arrays, quoted strings)
 * and fall back to the raw text, so `DEEPTRACE__ELASTIC__PORT=9200` is a number and
 * `DEEPTRACE__ELASTIC__URL=http://es:9200` a string.
 */
export function applyEnvOverrides(
  target: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): EnvOverride[] {
  const applied: EnvOverride[] = [];
  for (const variable of Object.keys(env).sort()) {
    const raw = env[variable];
    if (!variable.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = variable.slice(ENV_PREFIX.length).toLowerCase().split("__");
    if (path.some((segment) => segment === "")) continue;
    setPath(target, path, parseEnvValue(raw));
    applied.push({ variable, path });
  }
  return applied;
}

function parseEnvValue(raw: string): unknown {
  try {
    return parseToml(`value = ${raw}`).value;
  } catch {
    return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const [i, segment] of path.entries()) {
    if (i === path.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (typeof next === "object" && next !== null) {
      node = next as Record<string, unknown>;
    } else {
      const created: Record<string, unknown> | unknown[] = /^\d+$/.test(path[i + 1] ?? "")
        ? []
        : {};
      node[segment] = created;
      node = created as Record<string, unknown>;
    }
  }
}
