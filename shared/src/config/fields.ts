import { z } from "zod";
import { resolveSecret } from "./secret.js";

/**
 * Field types shared by every section. Secrets resolve their reference (env:NAME,
 * file:/path) against the given environment during validation, so an unresolvable one is
 * reported like any other invalid key.
 */
export function configFields(env: NodeJS.ProcessEnv) {
  const secret = z
    .string()
    .min(1)
    .transform((reference, ctx) => {
      try {
        return resolveSecret(reference, env).secret;
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    });
  return {
    secret,
    port: z.number().int().min(0).max(65535),
    listen: z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, "expected host:port"),
    positiveMs: z.number().int().positive(),
    indexName: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lower case letters, digits, '_' and '-'"),
  };
}

export type ConfigFields = ReturnType<typeof configFields>;

/** Keys every service section has: where it listens and how long it drains on shutdown. */
export function serviceKeys(f: ConfigFields, grpcPort: number, httpPort: number) {
  return {
    /** gRPC address. Port 0 picks a free port (logged at start). */
    listen: f.listen.default(`127.0.0.1:${grpcPort}`),
    /** HTTP address of /metrics and /healthz. */
    http_listen: f.listen.default(`127.0.0.1:${httpPort}`),
    /** Time given to in-flight calls on shutdown before they are cancelled. */
    shutdown_grace_ms: f.positiveMs.default(10_000),
  };
}
