import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { type SpanWindow, SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import type { Trace } from "@deeptrace/shared/gen/deeptrace/trace/v1/trace_pb";
import { Client } from "@elastic/elasticsearch";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll } from "vitest";
import { assemble } from "../../../services/trace-assembler/src/engine/assemble.js";
import { esUrl, natsUrl } from "../../support/infrastructure.js";
import { type RunningService, startService } from "../../support/service-process.js";

/** Names of one test's own stream, subjects, consumer and indices, so test files never share. */
export interface TestSetup {
  id: string;
  prefix: string;
  stream: string;
  subject: string;
  deadLetterSubject: string;
  consumer: string;
  dir: string;
}

export function testSetup(name: string): TestSetup {
  const id = `${name}-${randomBytes(4).toString("hex")}`;
  return {
    id,
    prefix: `dt-${id}`,
    stream: `DT_${id.replace(/-/g, "_").toUpperCase()}`,
    subject: `dt-test.${id}.windows`,
    deadLetterSubject: `dt-test.${id}.dead`,
    consumer: `assembler-${id}`,
    dir: mkdtempSync(join(tmpdir(), `deeptrace-${name}-`)),
  };
}

export interface ConfigOptions {
  /** Elasticsearch address the service uses (a proxy in the outage test). */
  elasticUrl?: string;
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Extra `[trace_assembler]` keys, as TOML lines. */
  assembler?: string[];
  /** Extra top-level TOML (e.g. `[auth]`). */
  extra?: string;
}

/** Writes the service's TOML configuration for this test and returns its path. */
export function writeConfig(setup: TestSetup, options: ConfigOptions = {}): string {
  const path = join(setup.dir, `assembler-${randomBytes(3).toString("hex")}.toml`);
  const text = `
[log]
level = "debug"

[elastic]
url = "${options.elasticUrl ?? esUrl()}"
index_prefix = "${setup.prefix}"

[nats]
url = "${natsUrl()}"
stream = "${setup.stream}"
subject = "${setup.subject}"
dead_letter_subject = "${setup.deadLetterSubject}"
consumer = "${setup.consumer}"
max_deliver = ${options.maxDeliver ?? 4}
ack_wait_ms = ${options.ackWaitMs ?? 4_000}
# JetStream reserves this much file storage per stream: keep tests small.
stream_max_bytes = ${64 * 1024 * 1024}

[trace_assembler]
in_progress_interval_ms = 1000
nak_delay_ms = 100
shutdown_grace_ms = 3000
${(options.assembler ?? []).join("\n")}

${options.extra ?? "[auth]\nenabled = false"}
`;
  writeFileSync(path, text);
  return path;
}

export function startAssembler(
  config: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningService> {
  return startService("trace-assembler", { config, env });
}

/** Resolves once the service logged a line containing `text` (after `from` lines). */
export async function waitForLog(
  service: RunningService,
  text: string,
  timeoutMs = 60_000,
  from = 0,
): Promise<string> {
  return waitFor(
    async () => service.output.slice(from).find((line) => line.includes(text)),
    `log line "${text}"`,
    timeoutMs,
  );
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function natsConnection(): Promise<NatsConnection> {
  return connect({ servers: natsUrl() });
}

export function elasticClient(): Client {
  return new Client({ node: esUrl() });
}

/** Publishes windows the way the span-poller does: message id = window id. */
export async function publishWindows(
  nc: NatsConnection,
  setup: TestSetup,
  windows: readonly SpanWindow[],
): Promise<void> {
  const js = nc.jetstream();
  for (const w of windows) {
    await js.publish(setup.subject, toBinary(SpanWindowSchema, w), {
      msgID: `${w.windowId}:${w.revision}`,
    });
  }
}

/** The traces the engine emits for these windows, by trace id (what the index must hold). */
export function expectedTraces(windows: readonly SpanWindow[]): Map<string, Trace> {
  const traces = new Map<string, Trace>();
  for (const w of windows) {
    const result = assemble(w.spans, {
      algorithm: "deeptrace",
      window: { startNs: w.startNs, endNs: w.endNs },
      windowId: w.windowId,
    });
    for (const t of result.traces) {
      if (traces.has(t.traceId)) throw new Error(`trace ${t.traceId} emitted by two windows`);
      traces.set(t.traceId, t);
    }
  }
  return traces;
}

/** Every document of an index (after a refresh), ordered by `idField`: id and source. */
export async function allDocuments(
  es: Client,
  index: string,
  idField: string,
): Promise<Array<{ id: string; source: Record<string, unknown> }>> {
  await es.indices.refresh({ index });
  const response = await es.search<Record<string, unknown>>({
    index,
    size: 10_000,
    query: { match_all: {} },
    sort: [{ [idField]: "asc" }],
  });
  return response.hits.hits.map((h) => ({ id: h._id as string, source: h._source ?? {} }));
}

export async function documentCount(es: Client, index: string): Promise<number> {
  await es.indices.refresh({ index });
  return (await es.count({ index })).count;
}

/** Removes what a test created: its indices, templates and stream. */
export async function cleanUp(setup: TestSetup, es: Client, nc?: NatsConnection): Promise<void> {
  const indices = ["traces", "spans", "service-graph", "dead-letters", "windows"].map(
    (s) => `${setup.prefix}-${s}`,
  );
  await es.indices.delete({ index: indices, ignore_unavailable: true });
  for (const name of indices) {
    await es.indices.deleteIndexTemplate({ name }, { ignore: [404] });
  }
  if (nc) {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(setup.stream).catch(() => false);
  }
}

/** What one test file works with: its own names, an Elasticsearch client and NATS. */
export interface AssemblerTestFile {
  readonly es: Client;
  readonly setup: TestSetup;
  /** Connected before the file's tests run. */
  nc: NatsConnection;
}

/**
 * Registers the file's hooks: connect NATS (then `start`) before its tests; after them
 * `stop` (the file's assembler processes), remove what it created and close connections.
 */
export function assemblerTestFile(
  name: string,
  hooks: { start?: () => unknown; stop?: () => unknown } = {},
): AssemblerTestFile {
  const file = { es: elasticClient(), setup: testSetup(name) } as AssemblerTestFile;
  beforeAll(async () => {
    file.nc = await natsConnection();
    await hooks.start?.();
  });
  afterAll(async () => {
    await hooks.stop?.();
    await cleanUp(file.setup, file.es, file.nc);
    await file.nc?.close();
    await file.es.close();
  });
  return file;
}
