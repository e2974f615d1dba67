import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseToml } from "./toml.mjs";

export class ConfigError extends Error {}

/** JSON with keys sorted at every level: the manager hashes configs the same way. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function configHash(config) {
  return createHash("sha256").update(canonicalJson(config)).digest("hex").slice(0, 16);
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * An optional nanosecond value of the [emulator] table as a bigint: a decimal string (wall
 * clock values do not fit a double) or a safe integer.
 */
function nanoseconds(emulator, key) {
  const value = emulator[key];
  if (value === undefined) return null;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  if (Number.isSafeInteger(value)) return BigInt(value);
  throw new ConfigError(
    `emulator.${key} must be an integer of nanoseconds (a decimal string when large)`,
  );
}

/** The settings the emulator runs with, checked; throws ConfigError naming the key. */
export function settingsFrom(config) {
  if (!isObject(config)) throw new ConfigError("config must be an object");
  const need = (obj, path) => {
    const v = path.split(".").reduce((o, k) => (isObject(o) ? o[k] : undefined), obj);
    if (v === undefined) throw new ConfigError(`missing key ${path}`);
    return v;
  };
  const name = need(config, "agent.name");
  const url = need(config, "elastic.url");
  const index = need(config, "sender.index_name");
  const port = need(config, "api.port");
  if (typeof name !== "string" || typeof url !== "string" || typeof index !== "string") {
    throw new ConfigError("agent.name, elastic.url and sender.index_name must be strings");
  }
  if (!Number.isInteger(port)) throw new ConfigError("api.port must be an integer");
  const emulator = isObject(config.emulator) ? config.emulator : {};
  const speed = emulator.speed ?? 1;
  if (typeof speed !== "number" || !(speed > 0))
    throw new ConfigError("emulator.speed must be a positive number");
  if (typeof emulator.dataset !== "string")
    throw new ConfigError("missing key emulator.dataset (path of the spans to replay)");
  const loop = emulator.loop !== false;
  const sourceClockOffsetNs = nanoseconds(emulator, "source_clock_offset_ns");
  const wallShiftNs = nanoseconds(emulator, "wall_shift_ns");
  if ((sourceClockOffsetNs === null) !== (wallShiftNs === null))
    throw new ConfigError(
      "emulator.source_clock_offset_ns and emulator.wall_shift_ns go together (wall-clock replay)",
    );
  if (wallShiftNs !== null && (loop || speed !== 1))
    throw new ConfigError(
      "wall-clock replay (emulator.wall_shift_ns) needs loop = false and speed = 1",
    );
  const retryForMs = emulator.retry_for_ms ?? 300_000;
  if (!Number.isInteger(retryForMs) || retryForMs < 0)
    throw new ConfigError("emulator.retry_for_ms must be a non-negative integer");
  return {
    name,
    elasticUrl: url.replace(/\/+$/, ""),
    username: config.elastic.username,
    password: config.elastic.password,
    index,
    batchSize: Number.isInteger(config.sender.batch_size) ? config.sender.batch_size : 500,
    apiAddress: typeof config.api.address === "string" ? config.api.address : "0.0.0.0",
    apiPort: port,
    dataset: emulator.dataset,
    sourceIndex: typeof emulator.source_index === "string" ? emulator.source_index : undefined,
    speed,
    loop,
    sourceClockOffsetNs,
    wallShiftNs,
    retryForMs,
    flushIntervalMs: Number.isInteger(emulator.flush_interval_ms)
      ? emulator.flush_interval_ms
      : 500,
    hash: configHash(config),
  };
}

export function readConfigFile(path) {
  return parseToml(readFileSync(path, "utf8"));
}
