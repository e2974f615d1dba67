import { once } from "node:events";
import { create, type DescMethod, type DescService, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createHandlerContext,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import type {
  Metadata,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { type AuditSink, auditRecord, auditTarget } from "./audit.js";
import { authorize, type BearerAuthenticator, type Principal, type Role } from "./auth.js";
import { principalKey } from "./principal.js";
import { codeName, toServiceError } from "./status.js";

/** The role each method needs. Methods needing more than viewer are audited as mutating. */
export type MethodRoles<S extends DescService> = { [K in keyof S["method"]]: Role };

/** A protobuf-es service with its connect-style implementation and access policy. */
export interface HostedService<S extends DescService = DescService> {
  service: S;
  implementation: ServiceImpl<S>;
  roles: MethodRoles<S>;
}

export interface HostDependencies {
  auth: BearerAuthenticator;
  logger: Logger;
  audit: AuditSink;
  /** Aborted at the shutdown deadline; in-flight calls see it through their context. */
  shutdownSignal: AbortSignal;
  /** Aborted when shutdown begins, so server streams (watches) end without waiting. */
  streamShutdownSignal: AbortSignal;
  onCallDone?: (service: string, method: string, code: string, seconds: number) => void;
}

type AnyImpl = (request: unknown, context: HandlerContext) => unknown;

/** grpc-js handlers for a hosted service: authentication, authorization, audit, errors. */
export function hostService(
  hosted: HostedService,
  deps: HostDependencies,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  const impl = hosted.implementation as unknown as Record<string, AnyImpl>;
  const roles = hosted.roles as Record<string, Role>;
  for (const method of hosted.service.methods) {
    const fn = impl[method.localName];
    const role = roles[method.localName];
    if (!fn || !role) {
      throw new Error(`${hosted.service.typeName}.${method.name} has no implementation or role`);
    }
    const call = new CallRunner(hosted.service, method, fn.bind(hosted.implementation), role, deps);
    if (method.methodKind === "unary") {
      handlers[method.localName] = (
        c: ServerUnaryCall<unknown, unknown>,
        callback: sendUnaryData<unknown>,
      ) => call.unary(c, callback);
    } else if (method.methodKind === "server_streaming") {
      handlers[method.localName] = (c: ServerWritableStream<unknown, unknown>) =>
        call.serverStream(c);
    } else {
      throw new Error(`${method.methodKind} methods are not supported (${method.name})`);
    }
  }
  return handlers;
}

type GrpcCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

class CallRunner {
  constructor(
    private readonly service: DescService,
    private readonly method: DescMethod,
    private readonly fn: AnyImpl,
    private readonly role: Role,
    private readonly deps: HostDependencies,
  ) {}

  unary(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void {
    const started = process.hrtime.bigint();
    const { context, principal } = this.begin(call);
    const run = async () => {
      this.check(call.metadata, principal, context);
      const output = await this.fn(call.request, context);
      return create(this.method.output, output as never) as Message;
    };
    run().then(
      (response) => {
        this.finish(call, principal.value, 0, started);
        context.abort();
        callback(null, response);
      },
      (error: unknown) => {
        const serviceError = this.fail(call, principal.value, error, started);
        context.abort(error);
        callback(serviceError as never);
      },
    );
  }

  serverStream(call: ServerWritableStream<unknown, unknown>): void {
    const started = process.hrtime.bigint();
    const { context, principal } = this.begin(call);
    const run = async () => {
      this.check(call.metadata, principal, context);
      const outputs = this.fn(call.request, context) as AsyncIterable<unknown>;
      for await (const output of outputs) {
        if (call.cancelled) throw new ConnectError("call cancelled by the client", Code.Canceled);
        if (!call.write(create(this.method.output, output as never))) {
          await Promise.race([once(call, "drain"), once(context.signal, "abort")]);
        }
      }
    };
    run().then(
      () => {
        this.finish(call, principal.value, 0, started);
        context.abort();
        call.end();
      },
      (error: unknown) => {
        const serviceError = this.fail(call, principal.value, error, started);
        context.abort(error);
        if (!call.cancelled) call.emit("error", serviceError);
      },
    );
  }

  private begin(call: GrpcCall) {
    const values = createContextValues();
    const deadline = call.getDeadline();
    const timeoutMs =
      deadline instanceof Date
        ? Math.max(0, deadline.getTime() - Date.now())
        : Number.isFinite(deadline)
          ? Math.max(0, Number(deadline) - Date.now())
          : undefined;
    const context = createHandlerContext({
      service: this.service,
      method: this.method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: `/${this.service.typeName}/${this.method.name}`,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      shutdownSignal:
        this.method.methodKind === "unary"
          ? this.deps.shutdownSignal
          : AbortSignal.any([this.deps.shutdownSignal, this.deps.streamShutdownSignal]),
      contextValues: values,
      requestHeader: metadataHeaders(call.metadata),
    });
    call.on("cancelled", () => context.abort(new ConnectError("cancelled", Code.Canceled)));
    // The principal is settled by check(); until then the call counts as anonymous.
    const principal: { value: Principal } = { value: { name: "anonymous", role: "viewer" } };
    return { context, principal };
  }

  private check(
    metadata: Metadata,
    principal: { value: Principal },
    context: HandlerContext,
  ): void {
    const header = metadata.get("authorization")[0];
    principal.value = this.deps.auth.authenticate(typeof header === "string" ? header : undefined);
    authorize(principal.value, this.role, `${this.service.typeName}/${this.method.name}`);
    context.values.set(principalKey, principal.value);
  }

  private fail(call: GrpcCall, principal: Principal, error: unknown, started: bigint) {
    const serviceError = toServiceError(error);
    if (!(error instanceof ConnectError)) {
      this.deps.logger.error(
        { err: error, method: `${this.service.typeName}/${this.method.name}` },
        "call failed with an unexpected error",
      );
    }
    this.finish(call, principal, serviceError.code, started);
    return serviceError;
  }

  private finish(call: GrpcCall, principal: Principal, code: number, started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const outcome = codeName(code);
    this.deps.onCallDone?.(this.service.typeName, this.method.name, outcome, seconds);
    if (this.role === "viewer") return;
    this.deps.audit(
      auditRecord({
        service: this.service.typeName,
        method: this.method.name,
        principal,
        peer: call.getPeer(),
        outcome,
        durationMs: Math.round(seconds * 1000),
        ...withTarget(auditTarget(call.request, this.method.input)),
      }),
    );
  }
}

const withTarget = (target: string | undefined) => (target === undefined ? {} : { target });

function metadataHeaders(metadata: Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (key.endsWith("-bin")) continue;
    for (const value of values) headers.append(key, String(value));
  }
  return headers;
}
