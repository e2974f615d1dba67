#!/usr/bin/env node
// DeepTrace agent emulator: a stand-in for the Rust eBPF agent. It reads the agent TOML the
// agent-manager renders, replays a span dataset into Elasticsearch in the agent's document
// format with live timestamps on this host's monotonic clock, and serves the agent REST API
// (GET /api/status, POST /api/config/update with the full config JSON, applied live).
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { ConfigError, readConfigFile, settingsFrom } from "./lib/config.mjs";
import { loadDataset } from "./lib/dataset.mjs";
import { BulkSender } from "./lib/sender.mjs";

const log = (message, fields = {}) =>
  process.stdout.write(
    `${JSON.stringify({ at: new Date().toISOString(), msg: message, ...fields })}\n`,
  );

const { values } = parseArgs({ options: { config: { type: "string" } }, strict: true });
if (!values.config) {
  process.stderr.write("usage: agent.mjs --config agent.toml\n");
  process.exit(2);
}

let settings;
try {
  settings = settingsFrom(readConfigFile(values.config));
} catch (error) {
  process.stderr.write(`agent emulator: ${values.config}: ${error.message}\n`);
  process.exit(2);
}

const datasets = new Map();
const dataset = (s) => {
  const key = `${s.dataset}\n${s.sourceIndex ?? ""}`;
  if (!datasets.has(key)) datasets.set(key, loadDataset(s.dataset, s.sourceIndex));
  return datasets.get(key);
};

const monotonicNs = () => process.hrtime.bigint();
/** This host's wall clock minus its monotonic clock, read once (as the manager's probe does). */
const clockOffsetNs = (() => {
  const a = monotonicNs();
  const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  const b = monotonicNs();
  return wall - (a + b) / 2n;
})();
const sender = new BulkSender((message) => log(message));
const startedAt = new Date().toISOString();
let entries = dataset(settings);
let cursor = 0;
let loops = 0;
let loopStart = monotonicNs();
let buffer = [];
let lastFlush = Date.now();
let flushing = Promise.resolve();

/** Re-anchors the replay so the span at `cursor` is due now (after a speed change or a new loop). */
const anchor = () => {
  const first = entries[0].doc.metric.start_time;
  const offset = entries[cursor] ? entries[cursor].doc.metric.start_time - first : 0;
  loopStart = monotonicNs() - BigInt(Math.round(offset / settings.speed));
};

/**
 * When a span starts on this host's monotonic clock. Relative replay keeps the dataset's
 * pace from the anchor; wall-clock replay puts every span at its dataset wall time (its
 * source host's monotonic time plus that host's offset) plus `wall_shift_ns`, so emulators
 * on several hosts replay one generated workload in step, each on its own clock.
 */
const liveStartOf = (doc) =>
  settings.wallShiftNs !== null
    ? BigInt(doc.metric.start_time) +
      settings.sourceClockOffsetNs +
      settings.wallShiftNs -
      clockOffsetNs
    : loopStart +
      BigInt(
        Math.round((doc.metric.start_time - entries[0].doc.metric.start_time) / settings.speed),
      );

const tick = () => {
  const now = monotonicNs();
  while (cursor < entries.length) {
    const { id, doc } = entries[cursor];
    const liveStart = liveStartOf(doc);
    const liveEnd = liveStart + BigInt(doc.metric.duration);
    if (liveEnd > now) break;
    buffer.push({
      index: settings.index,
      id:
        id === null
          ? `${settings.name}-${loops}-${cursor}-${liveStart}`
          : loops === 0
            ? id
            : `${id}-${loops}`,
      doc: {
        ...doc,
        metric: { ...doc.metric, start_time: Number(liveStart), end_time: Number(liveEnd) },
      },
    });
    cursor++;
  }
  if (cursor >= entries.length && settings.loop) {
    cursor = 0;
    loops++;
    anchor();
  }
  if (
    buffer.length >= settings.batchSize ||
    (buffer.length > 0 && Date.now() - lastFlush >= settings.flushIntervalMs)
  ) {
    flush();
  }
};

const flush = () => {
  const items = buffer;
  buffer = [];
  lastFlush = Date.now();
  flushing = flushing.then(() => sender.send(settings, items));
  return flushing;
};

const status = () => ({
  agent: settings.name,
  pid: process.pid,
  started_at: startedAt,
  index: settings.index,
  speed: settings.speed,
  dataset: settings.dataset,
  config_hash: settings.hash,
  spans_sent: sender.sent,
  spans_rejected: sender.rejected,
  last_error: sender.lastError,
  loops,
});

const reply = (res, code, body) => {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/api/status") return reply(res, 200, status());
  if (req.method === "POST" && req.url === "/api/config/update") {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      let next;
      try {
        next = settingsFrom(JSON.parse(body));
        if (next.apiPort !== settings.apiPort || next.apiAddress !== settings.apiAddress) {
          throw new ConfigError(
            "api.address and api.port cannot change while running; restart the agent",
          );
        }
        entries = dataset(next);
      } catch (error) {
        return reply(res, 400, { ok: false, error: error.message });
      }
      const previous = settings;
      // Spans captured so far belong to the old index; flush them there before switching.
      if (buffer.length > 0) flush();
      settings = next;
      if (cursor >= entries.length) cursor = 0;
      if (next.speed !== previous.speed || next.dataset !== previous.dataset) anchor();
      log("config updated", { index: next.index, speed: next.speed, config_hash: next.hash });
      return reply(res, 200, { ok: true, ...status() });
    });
    return;
  }
  reply(res, 404, { ok: false, error: `no route ${req.method} ${req.url}` });
});

const timer = setInterval(tick, 50);
server.listen(settings.apiPort, settings.apiAddress, () =>
  log("agent emulator started", { ...status(), api: `${settings.apiAddress}:${settings.apiPort}` }),
);
server.on("error", (error) => {
  log("REST API cannot listen", { error: error.message });
  process.exit(1);
});

const shutdown = async (signal) => {
  clearInterval(timer);
  server.close();
  await flush();
  log("agent emulator stopped", { signal, spans_sent: sender.sent });
  process.exit(0);
};
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
