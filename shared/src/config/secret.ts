import { readFileSync } from "node:fs";
import { inspect } from "node:util";

const REDACTED = "[redacted]";

/**
 * A secret value from the configuration. It never prints: JSON, string conversion and
 * util.inspect all show "[redacted]"; only `reveal()` returns the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Thrown when a secret reference cannot be resolved; names the reference, never a value. */
export class SecretReferenceError extends Error {}

/**
 * Resolves a secret given in configuration. `env:NAME` reads an environment variable,
 * `file:/path` reads a file (trailing newline dropped); anything else is a literal value,
 * accepted for compatibility with the upstream configuration shape.
 */
export function resolveSecret(
  reference: string,
  env: NodeJS.ProcessEnv = process.env,
): { secret: Secret; literal: boolean } {
  if (reference.startsWith("env:")) {
    const name = reference.slice(4);
    const value = env[name];
    if (value === undefined || value === "") {
      throw new SecretReferenceError(`environment variable ${name} is not set`);
    }
    return { secret: new Secret(value), literal: false };
  }
  if (reference.startsWith("file:")) {
    const path = reference.slice(5);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new SecretReferenceError(`secret file ${path} cannot be read (${code})`);
    }
    return { secret: new Secret(text.replace(/\r?\n$/, "")), literal: false };
  }
  return { secret: new Secret(reference), literal: true };
}
