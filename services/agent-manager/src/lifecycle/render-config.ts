import type { Secret } from "@deeptrace/shared/config/secret";
import { defaultSpanIndex, senderIndexName } from "@deeptrace/shared/config/span-index";
import { stringify } from "smol-toml";
import type { AgentRecord } from "../inventory/agent-record.js";
import { configHash } from "./config-hash.js";

/** What the server contributes to every agent's config. */
export interface RenderContext {
  /** Elasticsearch address as the agents reach it. */
  elasticUrl: string;
  elasticUsername?: string | undefined;
  elasticPassword?: Secret | undefined;
  bulkSize: number;
  defaults: { sender: Record<string, unknown>; emulator: Record<string, unknown> };
}

/** An agent's rendered config in the forms it is used in. */
export interface RenderedConfig {
  /** With secrets in clear text: only for the file on the host and the agent REST API. */
  object: Record<string, unknown>;
  toml: string;
  /** Secrets replaced by "[redacted]": for API responses and logs. */
  redactedToml: string;
  hash: string;
}

const REDACTED = "[redacted]";
const SECRET_KEY = /pass(word|phrase)?$|secret|token|api_key/i;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `patch` merged into `base`: objects merge key by key, anything else replaces; null deletes. */
export function deepMerge(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(out[key])) {
      out[key] = deepMerge(out[key] as Record<string, unknown>, value);
    } else out[key] = value;
  }
  return out;
}

/** A copy with every secret-looking key's value replaced by "[redacted]". */
export function redactSecrets(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, key));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)]));
  }
  if (SECRET_KEY.test(key) && typeof value === "string") return REDACTED;
  return value;
}

/**
 * Renders an agent's TOML config from the server config: the agent's identity, the
 * Elasticsearch address and credentials, the span index `spans_<agent>` (unless the agent's
 * own `[sender]` names one), the REST API address, the agent's own blocks passed through,
 * and finally the patch set through UpdateConfig.
 */
export function renderAgentConfig(agent: AgentRecord, ctx: RenderContext): RenderedConfig {
  const blocks = agent.blocks;
  const elastic: Record<string, unknown> = { url: ctx.elasticUrl };
  if (ctx.elasticPassword) {
    elastic.username = ctx.elasticUsername ?? "elastic";
    elastic.password = ctx.elasticPassword.reveal();
  }
  let config: Record<string, unknown> = {
    agent: { name: agent.name, host: agent.host },
    elastic,
    sender: {
      index_name: defaultSpanIndex(agent.name),
      batch_size: ctx.bulkSize,
      ...ctx.defaults.sender,
      ...blocks.sender,
    },
    api: { address: "0.0.0.0", ...blocks.api, port: agent.apiPort },
  };
  for (const [name, block] of Object.entries(blocks)) {
    if (name === "sender" || name === "api" || name === "emulator") continue;
    config[name] = block;
  }
  const emulator = { ...ctx.defaults.emulator, ...blocks.emulator };
  if (Object.keys(emulator).length > 0) config.emulator = emulator;
  config = deepMerge(config, agent.configPatch);
  return {
    object: config,
    toml: stringify(config),
    redactedToml: stringify(redactSecrets(config) as Record<string, unknown>),
    hash: configHash(config),
  };
}

/** The span index a rendered config names. */
export function spanIndexOf(config: Record<string, unknown>, agentName: string): string {
  return senderIndexName(config.sender) ?? defaultSpanIndex(agentName);
}
