import { z } from "zod";
import { configFields } from "./fields.js";
import { agentManagerSection } from "./sections/agent-manager.js";
import { agentsSection } from "./sections/agents.js";
import { spanPollerSection } from "./sections/span-poller.js";
import { traceAssemblerSection } from "./sections/trace-assembler.js";

/**
 * The one configuration file shared by all services. Every object is strict: a key that is
 * not listed is an error, so a misspelling never silently falls back to a default. Field
 * names follow the upstream DeepTrace server (`[elastic]`, `[server]`,
 * `[[agents]] [agents.agent_info]`) where it has them.
 */
export function configSchema(env: NodeJS.ProcessEnv) {
  const f = configFields(env);

  const elastic = z.strictObject({
    url: z.string().url().optional(),
    /** Upstream shape: the address is built from server.ip and this port when url is absent. */
    port: f.port.default(9200),
    username: z.string().min(1).optional(),
    password: f.secret.optional(),
    /** Upstream name of `password`. */
    elastic_password: f.secret.optional(),
    /** Upstream key, kept so upstream files load; the server does not use Kibana. */
    kibana_password: f.secret.optional(),
    ca_file: z.string().min(1).optional(),
    request_timeout: z.number().positive().default(10),
    bulk_size: z.number().int().positive().default(1024),
    agent_status_index: f.indexName.default("agent_status"),
    /** Prefix of every index the server writes (traces, spans, graph, registry...). */
    index_prefix: f.indexName.default("deeptrace"),
  });

  const server = z.strictObject({
    /** Address of the server host as agents reach it (Elasticsearch for agents). */
    ip: z.string().min(1).default("127.0.0.1"),
    port: f.port.optional(),
    path: z.string().optional(),
  });

  const nats = z.strictObject({
    url: z.string().min(1).default("nats://127.0.0.1:4222"),
    stream: z.string().min(1).default("DEEPTRACE_WINDOWS"),
    subject: z.string().min(1).default("deeptrace.windows"),
    dead_letter_subject: z.string().min(1).default("deeptrace.windows.dead"),
    consumer: z.string().min(1).default("trace-assembler"),
    max_deliver: z.number().int().min(1).default(5),
    ack_wait_ms: f.positiveMs.default(60_000),
    /** Size limit of the windows stream; when full, publishing waits (back-pressure). */
    stream_max_bytes: z
      .number()
      .int()
      .positive()
      .default(1024 ** 3),
    token: f.secret.optional(),
  });

  const auth = z.strictObject({
    /** With auth off every caller is admin; only meant for local development. */
    enabled: z.boolean().default(true),
    tokens: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          role: z.enum(["viewer", "operator", "admin"]),
          token: f.secret,
        }),
      )
      .default([]),
  });

  const tls = z.strictObject({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    /** CA bundle for client certificates; with it, clients must present a certificate. */
    client_ca_file: z.string().min(1).optional(),
  });

  const log = z.strictObject({
    level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  });

  return z.strictObject({
    elastic: elastic.prefault({}),
    server: server.prefault({}),
    nats: nats.prefault({}),
    auth: auth.prefault({}),
    tls: tls.optional(),
    log: log.prefault({}),
    agent_manager: agentManagerSection(f).prefault({}),
    span_poller: spanPollerSection(f).prefault({}),
    trace_assembler: traceAssemblerSection(f).prefault({}),
    agents: agentsSection(f).default([]),
  });
}

export type Config = z.output<ReturnType<typeof configSchema>>;
/** The keys every service section shares. */
export type ServiceSection = Pick<
  Config["agent_manager"],
  "listen" | "http_listen" | "shutdown_grace_ms"
>;
