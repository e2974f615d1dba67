import { readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import type { z } from "zod";
import { applyEnvOverrides, type EnvOverride } from "./env-overrides.js";
import { type Config, configSchema } from "./schema.js";

/** The configuration could not be loaded; the message names the file or variable and key. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export interface LoadConfigOptions {
  /** TOML file; when absent only defaults and environment overrides apply. */
  path?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads the TOML file, applies DEEPTRACE__* environment overrides, validates strictly and
 * resolves secret references. Throws ConfigError listing every problem found.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const source = options.path ?? "(no config file)";
  let raw: Record<string, unknown> = {};
  if (options.path !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new ConfigError([`${source}: cannot read the file (${code})`]);
    }
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([`${source}: not valid TOML: ${(error as Error).message}`]);
    }
  }
  const overrides = applyEnvOverrides(raw, env);
  const result = configSchema(env).safeParse(raw);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => describe(issue, source, overrides)));
  }
  return result.data;
}

function describe(issue: z.core.$ZodIssue, source: string, overrides: EnvOverride[]): string {
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    return issue.keys
      .map(
        (key) =>
          `${origin([...path, key], source, overrides)}: unknown key "${keyName([...path, key])}"`,
      )
      .join("\n  ");
  }
  return `${origin(path, source, overrides)}: key "${keyName(path)}": ${issue.message}`;
}

/** The file, or the environment variable that set the key (or one of its parents). */
function origin(path: string[], source: string, overrides: EnvOverride[]): string {
  const override = overrides.find(
    (o) => o.path.length <= path.length && o.path.every((segment, i) => segment === path[i]),
  );
  return override ? `environment ${override.variable}` : source;
}

function keyName(path: string[]): string {
  return path.length === 0 ? "(top level)" : path.join(".");
}
