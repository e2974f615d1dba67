import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { SpanPollerService } from "@deeptrace/shared/gen/deeptrace/poller/v1/span_poller_service_pb";
import { type SpanWindow, SpanWindowSchema } from "@deeptrace/shared/gen/deeptrace/span/v1/span_pb";
import { createServiceClient } from "@deeptrace/shared/grpc/client";
import { spanIdFor } from "@deeptrace/shared/spans/ids";
import { Client } from "@elastic/elasticsearch";
import { AckPolicy, type ConsumerMessages, connect, type NatsConnection } from "nats";
import {
  AGENT_INDEX_MAPPINGS,
  agentDoc,
  type SyntheticAgent,
  syntheticAgents,
} from "../../services/span-poller/src/bench/agent-docs.js";
import { esUrl, natsUrl } from "../support/infrastructure.js";

/** Names of one test's indices, stream and agents, unique per run. */
export interface Scenario {
  id: string;
  prefix: string;
  stream: string;
  subject: string;
  agents: SyntheticAgent[];
}

/** A scenario with agents whose hosts have different clock offsets. */
export function scenario(label: string, agentCount: number): Scenario {
  const id = `${label}${randomBytes(3).toString("hex")}`;
  return {
    id,
    prefix: `it-${id}`,
    stream: `IT_POLLER_${id.toUpperCase()}`,
    subject: `it.poller.${id}.windows`,
    agents: syntheticAgents(id, agentCount),
  };
}

/** The configuration file of a scenario; only the first `configAgents` agents are in [[agents]]. */
export function writeConfig(
  s: Scenario,
  poller: Record<string, number | string>,
  configAgents = s.agents.length,
): string {
  const dir = mkdtempSync(join(tmpdir(), "deeptrace-poller-"));
  const lines = [
    "[elastic]",
    `url = "${esUrl()}"`,
    `index_prefix = "${s.prefix}"`,
    "",
    "[nats]",
    `url = "${natsUrl()}"`,
    `stream = "${s.stream}"`,
    `subject = "${s.subject}"`,
    `dead_letter_subject = "${s.subject}.dead"`,
    // JetStream reserves max_bytes per stream; keep the reservation small on a shared server.
    `stream_max_bytes = ${64 * 1024 * 1024}`,
    "",
    "[auth]",
    "enabled = false",
    "",
    "[span_poller]",
    ...Object.entries(poller).map(([k, v]) => `${k} = ${typeof v === "string" ? `"${v}"` : v}`),
    "",
    "[span_poller.clock_offsets_ns]",
    ...s.agents.map((a) => `"${a.name}" = "${a.offsetNs}"`),
    "",
  ];
  for (const a of s.agents.slice(0, configAgents)) {
    lines.push("[[agents]]", "[agents.agent_info]", `agent_name = "${a.name}"`);
    lines.push(`user_name = "deeptrace"`, `host_ip = "127.0.0.1"`);
    // The poller never connects to agents; the schema wants a credential for every agent.
    lines.push(`private_key_path = "/nonexistent/id_ed25519"`, "");
  }
  const path = join(dir, "poller.toml");
  writeFileSync(path, lines.join("\n"));
  return path;
}

/** Span documents written to the agents' indices, and the span ids the poller must publish. */
export class SpanWriter {
  readonly es = new Client({ node: esUrl() });
  /** Span id to wall start time of every document written. */
  readonly written = new Map<string, bigint>();
  private n = 0;

  constructor(private readonly s: Scenario) {}

  async createIndices(): Promise<void> {
    for (const a of this.s.agents) {
      await this.es.indices.create({
        index: a.index,
        settings: { number_of_shards: 2, number_of_replicas: 0 },
        mappings: AGENT_INDEX_MAPPINGS,
      });
    }
  }

  /**
   * Writes one document per (agent, wall start time), in the order given, with a request
   * payload of `requestBytes` when given; returns the span ids.
   */
  async write(
    docs: { agent: number; wallNs: bigint; requestBytes?: number }[],
    refresh: boolean,
  ): Promise<string[]> {
    const operations: object[] = [];
    const ids: string[] = [];
    for (const d of docs) {
      const agent = this.s.agents[d.agent] as SyntheticAgent;
      const id = `d${this.n}`;
      const doc = agentDoc(agent, d.wallNs, this.n);
      if (d.requestBytes !== undefined) doc.content.req_content = "x".repeat(d.requestBytes);
      operations.push({ index: { _index: agent.index, _id: id } }, doc);
      const spanId = spanIdFor(agent.name, agent.index, id);
      this.written.set(spanId, d.wallNs);
      ids.push(spanId);
      this.n++;
    }
    for (let i = 0; i < operations.length; i += 4_000) {
      const response = await this.es.bulk({ operations: operations.slice(i, i + 4_000) });
      if (response.errors) throw new Error("bulk write of test spans failed");
    }
    if (refresh) await this.es.indices.refresh({ index: this.s.agents.map((a) => a.index) });
    return ids;
  }

  async cleanup(): Promise<void> {
    await this.es.indices.delete({
      index: [...this.s.agents.map((a) => a.index), `${this.s.prefix}-poller-state`],
      ignore_unavailable: true,
    });
    await this.es.close();
  }
}

export interface Received {
  msgId: string;
  window: SpanWindow;
  /** Size of the message body. */
  bytes: number;
}

/** Reads every window message from the scenario's stream (as an assembler would) and acks it. */
export class WindowCollector {
  readonly received: Received[] = [];
  private nc: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;

  constructor(private readonly s: Scenario) {}

  /** Waits (up to 30 s) for the poller to create the stream, then consumes it. */
  async start(): Promise<void> {
    this.nc = await connect({ servers: natsUrl() });
    const jsm = await this.nc.jetstreamManager();
    await eventually(
      `stream ${this.s.stream} created by the poller`,
      () =>
        jsm.streams.info(this.s.stream).then(
          () => [],
          (error: Error) => [error.message],
        ),
      30_000,
    );
    await jsm.consumers.add(this.s.stream, {
      durable_name: "it-collector",
      ack_policy: AckPolicy.Explicit,
      filter_subject: this.s.subject,
    });
    const consumer = await this.nc.jetstream().consumers.get(this.s.stream, "it-collector");
    this.messages = await consumer.consume();
    void (async () => {
      for await (const m of this.messages as ConsumerMessages) {
        this.received.push({
          msgId: m.headers?.get("Nats-Msg-Id") ?? "",
          window: fromBinary(SpanWindowSchema, m.data),
          bytes: m.data.length,
        });
        m.ack();
      }
    })();
  }

  async stop(): Promise<void> {
    this.messages?.stop();
    if (this.nc) {
      await this.nc.jetstreamManager().then((jsm) => jsm.streams.delete(this.s.stream));
      await this.nc.close();
    }
  }
}

export function pollerClient(address: string) {
  return createServiceClient(SpanPollerService, { address });
}

/**
 * Everything wrong with the received windows, judged by the latest revision of each
 * window id. A window that did not fit into one message went out as pieces, each a window
 * with its own id; an empty message retracts a window id (its latest revision holds
 * nothing). Windows must not overlap, every written span must be a member (start in
 * [t0, t1)) of exactly one window and nothing else may be, every span a window carries
 * must lie within its margins and every written span within them must be there (context
 * complete), a window id names its range, and each message id names one message only.
 */
export function windowProblems(received: Received[], written: Map<string, bigint>): string[] {
  const problems: string[] = [];
  const latest = new Map<string, SpanWindow>();
  const msgIds = new Set<string>();
  for (const { msgId, window } of received) {
    const expectedId =
      window.revision === 0 ? window.windowId : `${window.windowId}.r${window.revision}`;
    if (msgId !== expectedId) problems.push(`message id ${msgId} for ${expectedId}`);
    if (window.windowId !== `w-${window.startNs}-${window.endNs}`) {
      problems.push(`window id ${window.windowId} for [${window.startNs}, ${window.endNs})`);
    }
    if (msgIds.has(msgId)) problems.push(`message id ${msgId} received twice`);
    msgIds.add(msgId);
    const current = latest.get(window.windowId);
    if (!current || current.revision < window.revision) latest.set(window.windowId, window);
  }
  const windows = [...latest.values()]
    .filter((w) => w.spans.length > 0)
    .sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  for (let i = 1; i < windows.length; i++) {
    const prev = windows[i - 1] as SpanWindow;
    const cur = windows[i] as SpanWindow;
    if (cur.startNs < prev.endNs) problems.push(`${prev.windowId} overlaps ${cur.windowId}`);
  }
  const memberOf = new Map<string, number>();
  for (const w of windows) {
    const carried = new Set<string>();
    for (const span of w.spans) {
      carried.add(span.spanId);
      if (span.startTimeNs < w.startNs - w.marginNs || span.startTimeNs >= w.endNs + w.marginNs) {
        problems.push(`${span.spanId} outside the margins of ${w.windowId}`);
      }
      if (span.startTimeNs >= w.startNs && span.startTimeNs < w.endNs) {
        memberOf.set(span.spanId, (memberOf.get(span.spanId) ?? 0) + 1);
      }
    }
    for (const [id, t] of written) {
      if (t >= w.startNs - w.marginNs && t < w.endNs + w.marginNs && !carried.has(id)) {
        problems.push(
          `${w.windowId} r${w.revision} [${w.startNs}, ${w.endNs}) lacks ${id} at ${t}`,
        );
      }
    }
  }
  for (const id of written.keys()) {
    const n = memberOf.get(id) ?? 0;
    if (n !== 1) problems.push(`span ${id} is a member of ${n} windows`);
  }
  for (const id of memberOf.keys()) {
    if (!written.has(id)) problems.push(`span ${id} was never written`);
  }
  return problems;
}

/** Waits until check() returns no problems; fails with the last problems otherwise. */
export async function eventually(
  what: string,
  check: () => string[] | Promise<string[]>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problems: string[] = [];
  while (Date.now() < deadline) {
    problems = await check();
    if (problems.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${what}: still ${problems.length} problems, e.g.\n${problems.slice(0, 10).join("\n")}`,
  );
}
