import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

export interface ClientOptions {
  /** host:port of the server. */
  address: string;
  /** Bearer token sent with every call. */
  token?: string | undefined;
  /** Use TLS; with caFile the server certificate is checked against it. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string } | undefined;
}

/** A typed connect-es client for one of our services over the gRPC protocol. */
export function createServiceClient<S extends DescService>(
  service: S,
  options: ClientOptions,
): Client<S> {
  const interceptors: Interceptor[] = [];
  const token = options.token;
  if (token) {
    interceptors.push((next) => (request) => {
      request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    });
  }
  const tls = options.tls;
  const transport = createGrpcTransport({
    baseUrl: `${tls ? "https" : "http"}://${options.address}`,
    interceptors,
    ...(tls
      ? {
          nodeOptions: {
            ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
            ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
            ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
          },
        }
      : {}),
  });
  return createClient(service, transport);
}
