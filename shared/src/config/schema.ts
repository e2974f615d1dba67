import { z } from "zod";
import { resolveSecret } from "./secret.js";

/**
 * The one configuration file shared by all services. Every object is strict: a key that is
 * not listed here is an error, so a misspelling never silently falls back to a default.
 * Field names follow the upstream DeepTrace server (`[elastic]`, `[server]`,
 * `[[agents]] [agents.agent_info]`) where it has them.
 */
export function configSchema(env: NodeJS.ProcessEnv) {
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
  const port = z.number().int().min(0).max(65535);
  const listen = z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, "expected host:port");
  const positiveMs = z.number().int().positive();

  const tls = z.strictObject({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    /** CA bundle for client certificates; with it, clients must present a certificate. */
    client_ca_file: z.string().min(1).optional(),
  });

  const token = z.strictObject({
    name: z.string().min(1),
    role: z.enum(["viewer", "operator", "admin"]),
    token: secret,
  });

  const auth = z.strictObject({
    /** With auth off every caller is admin; only meant for local development. */
    enabled: z.boolean().default(true),
    tokens: z.array(token).default([]),
  });

  const service = (grpcPort: number, httpPort: number) =>
    z.strictObject({
      /** gRPC address. Port 0 picks a free port (logged at start). */
      listen: listen.default(`127.0.0.1:${grpcPort}`),
      /** HTTP address of /metrics and /healthz. */
      http_listen: listen.default(`127.0.0.1:${httpPort}`),
      /** Time given to in-flight calls on shutdown before they are cancelled. */
      shutdown_grace_ms: positiveMs.default(10_000),
    });

  const elastic = z.strictObject({
    url: z.string().url().optional(),
    /** Upstream shape: the address is built from server.ip and this port when url is absent. */
    port: port.default(9200),
    username: z.string().min(1).optional(),
    password: secret.optional(),
    /** Upstream name of `password`. */
    elastic_password: secret.optional(),
    /** Upstream key, kept so upstream files load; the server does not use Kibana. */
    kibana_password: secret.optional(),
    ca_file: z.string().min(1).optional(),
    request_timeout: z.number().positive().default(10),
    bulk_size: z.number().int().positive().default(1024),
    agent_status_index: z.string().min(1).default("agent_status"),
    /** Prefix of every index the server writes (traces, spans, graph, registry...). */
    index_prefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, "lower case letters, digits, '_' and '-'")
      .default("deeptrace"),
  });

  const server = z.strictObject({
    /** Address of the server host as agents reach it (Elasticsearch for agents). */
    ip: z.string().min(1).default("127.0.0.1"),
    port: port.optional(),
    path: z.string().optional(),
  });

  const nats = z.strictObject({
    url: z.string().min(1).default("nats://127.0.0.1:4222"),
    stream: z.string().min(1).default("DEEPTRACE_WINDOWS"),
    subject: z.string().min(1).default("deeptrace.windows"),
    dead_letter_subject: z.string().min(1).default("deeptrace.windows.dead"),
    consumer: z.string().min(1).default("trace-assembler"),
    max_deliver: z.number().int().min(1).default(5),
    ack_wait_ms: positiveMs.default(60_000),
    token: secret.optional(),
  });

  const agentInfo = z.strictObject({
    agent_name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, "lower case letters, digits, '_' and '-'"),
    user_name: z.string().min(1),
    host_ip: z.string().min(1),
    /** Upstream files give the port as a string. */
    ssh_port: z.union([port, z.string().regex(/^\d+$/).transform(Number)]).default(22),
    host_password: secret.optional(),
    private_key_path: z.string().min(1).optional(),
    private_key_passphrase: secret.optional(),
    /** Pinned host key, "SHA256:..." as printed by ssh-keygen -lf. */
    host_key_fingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]+=*$/)
      .optional(),
    deeptrace_port: port.optional(),
    code_path: z.string().min(1).optional(),
    workers: z.number().int().positive().optional(),
    labels: z.record(z.string(), z.string()).default({}),
  });

  const agentSource = z.strictObject({
    repository_url: z.string().min(1),
    ref: z.string().min(1),
    install_dir: z.string().min(1).optional(),
    install_script: z.string().min(1).default("install.sh"),
    run_script: z.string().min(1).default("run.sh"),
    stop_script: z.string().min(1).default("stop.sh"),
  });

  /** The agent's own config blocks are passed through to it as they are. */
  const agentBlock = z.record(z.string(), z.unknown());

  const agent = z.strictObject({
    agent_info: agentInfo,
    source: agentSource.optional(),
    span: agentBlock.optional(),
    sender: agentBlock.optional(),
    trace: agentBlock.optional(),
    ebpf: agentBlock.optional(),
    api: agentBlock.optional(),
    metric: agentBlock.optional(),
  });

  return z.strictObject({
    elastic: elastic.default(elastic.parse({})),
    server: server.default(server.parse({})),
    nats: nats.default(nats.parse({})),
    auth: auth.default(auth.parse({})),
    tls: tls.optional(),
    log: z
      .strictObject({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
      })
      .default({ level: "info" }),
    agent_manager: service(50051, 9461).default(service(50051, 9461).parse({})),
    span_poller: service(50052, 9462).default(service(50052, 9462).parse({})),
    trace_assembler: service(50053, 9463).default(service(50053, 9463).parse({})),
    agents: z.array(agent).default([]),
  });
}

export type Config = z.output<ReturnType<typeof configSchema>>;
export type ServiceSection = Config["agent_manager"];
