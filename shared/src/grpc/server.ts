import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { AuditSink } from "./audit.js";
import type { BearerAuthenticator } from "./auth.js";
import { type HostedService, hostService } from "./host-service.js";
import { reflectionPackage } from "./reflection.js";
import { grpcServerMetrics } from "./server-metrics.js";
import { serviceDefinition } from "./service-definition.js";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** With a client CA, clients must present a certificate it signed (mutual TLS). */
  clientCaFile?: string | undefined;
}

export interface GrpcServerOptions {
  // biome-ignore lint/suspicious/noExplicitAny: each hosted service has its own descriptor type
  services: HostedService<any>[];
  listen: string;
  auth: BearerAuthenticator;
  logger: Logger;
  registry: Registry;
  audit?: AuditSink;
  tls?: TlsFiles | undefined;
}

/**
 * A grpc-js server hosting protobuf-es services, with grpc.health.v1.Health and server
 * reflection (open to everyone) and bearer-token auth on everything else.
 */
export class GrpcServer {
  readonly health = new HealthImplementation({ "": "NOT_SERVING" });
  readonly #server = new Server();
  readonly #streams = new AbortController();
  readonly #calls = new AbortController();
  readonly #names: string[];
  #address = "";

  private constructor(private readonly options: GrpcServerOptions) {
    this.#names = options.services.map((s) => (s.service as DescService).typeName);
    const onCallDone = grpcServerMetrics(options.registry);
    const audit: AuditSink =
      options.audit ?? ((record) => options.logger.info({ audit: record }, "audit"));
    for (const hosted of options.services) {
      const unaryDeps = { auth: options.auth, logger: options.logger, audit, onCallDone };
      this.#server.addService(
        serviceDefinition(hosted.service),
        hostService(hosted, {
          ...unaryDeps,
          shutdownSignal: this.#calls.signal,
          streamShutdownSignal: this.#streams.signal,
        }),
      );
      this.health.setStatus(hosted.service.typeName, "NOT_SERVING");
    }
    this.health.addToServer(this.#server);
    new ReflectionService(reflectionPackage(options.services.map((s) => s.service))).addToServer(
      this.#server,
    );
  }

  static async start(options: GrpcServerOptions): Promise<GrpcServer> {
    const server = new GrpcServer(options);
    await server.bind();
    return server;
  }

  /** The bound address, host:port (the real port when 0 was asked for). */
  get address(): string {
    return this.#address;
  }

  private async bind(): Promise<void> {
    const { listen, tls } = this.options;
    const credentials = tls
      ? ServerCredentials.createSsl(
          tls.clientCaFile ? readFileSync(tls.clientCaFile) : null,
          [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
          tls.clientCaFile !== undefined,
        )
      : ServerCredentials.createInsecure();
    const port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(listen, credentials, (error, bound) =>
        error ? reject(new Error(`cannot listen on ${listen}: ${error.message}`)) : resolve(bound),
      ),
    );
    this.#address = `${listen.slice(0, listen.lastIndexOf(":"))}:${port}`;
    this.setServing(true);
  }

  setServing(serving: boolean): void {
    const status = serving ? "SERVING" : "NOT_SERVING";
    this.health.setStatus("", status);
    for (const name of this.#names) this.health.setStatus(name, status);
  }

  /**
   * Graceful shutdown: report NOT_SERVING, end server streams, let unary calls finish for
   * up to `graceMs`, then cancel whatever is left and close.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.setServing(false);
    this.#streams.abort(new Error("server shutting down"));
    const drained = new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), graceMs);
    });
    const outcome = await Promise.race([drained.then(() => "drained" as const), deadline]);
    clearTimeout(timer);
    if (outcome === "deadline") {
      this.options.logger.warn(
        { graceMs },
        "calls still running after the grace period; cancelling them",
      );
      this.#calls.abort(new Error("server shutdown deadline"));
      this.#server.forceShutdown();
    }
  }
}
