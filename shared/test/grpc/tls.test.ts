import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Code, ConnectError } from "@connectrpc/connect";
import { Secret } from "@deeptrace/shared/config/secret";
import { SpanPollerService } from "@deeptrace/shared/gen/deeptrace/poller/v1/span_poller_service_pb";
import { BearerAuthenticator } from "@deeptrace/shared/grpc/auth";
import { createServiceClient } from "@deeptrace/shared/grpc/client";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import { GrpcServer } from "@deeptrace/shared/grpc/server";
import { unimplemented } from "@deeptrace/shared/grpc/unimplemented";
import { createLogger } from "@deeptrace/shared/logging/logger";
import { createMetricsRegistry } from "@deeptrace/shared/metrics/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "deeptrace-tls-"));
const file = (name: string) => join(dir, name);

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.crt"),
  );
  writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1\n");
  for (const [name, ext] of [
    ["server", ["-extfile", file("server.ext")]],
    ["client", []],
  ] as const) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      file(`${name}.key`),
      "-out",
      file(`${name}.csr`),
    );
    openssl(
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file("ca.crt"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      file(`${name}.crt`),
      ...ext,
    );
  }
}

const poller: HostedService<typeof SpanPollerService> = {
  service: SpanPollerService,
  roles: {
    getStatus: "viewer",
    pause: "operator",
    resume: "operator",
    replay: "operator",
    listWindows: "viewer",
  },
  implementation: {
    getStatus: () => ({ paused: true }),
    pause: () => ({ paused: true }),
    resume: () => ({ paused: false }),
    replay: () => {
      throw unimplemented("Replay");
    },
    listWindows: () => ({}),
  },
};

let server: GrpcServer;

beforeAll(async () => {
  makeCertificates();
  server = await GrpcServer.start({
    services: [poller],
    listen: "127.0.0.1:0",
    auth: new BearerAuthenticator(
      [{ name: "v", role: "viewer", token: new Secret("tls-token") }],
      true,
    ),
    logger: createLogger({ service: "test", level: "silent" }),
    registry: createMetricsRegistry("test"),
    tls: {
      certFile: file("server.crt"),
      keyFile: file("server.key"),
      clientCaFile: file("ca.crt"),
    },
  });
});

afterAll(async () => {
  await server?.shutdown(100);
});

async function codeOf(promise: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("GrpcServer with mutual TLS", () => {
  it("serves a client that trusts the CA and presents a certificate it signed", async () => {
    const client = createServiceClient(SpanPollerService, {
      address: server.address,
      token: "tls-token",
      tls: { caFile: file("ca.crt"), certFile: file("client.crt"), keyFile: file("client.key") },
    });
    expect((await client.getStatus({})).paused).toBe(true);
  });

  it("refuses a client without a certificate", async () => {
    const client = createServiceClient(SpanPollerService, {
      address: server.address,
      token: "tls-token",
      tls: { caFile: file("ca.crt") },
    });
    expect(await codeOf(client.getStatus({}))).not.toBe("ok");
  });

  it("refuses a plaintext client", async () => {
    const client = createServiceClient(SpanPollerService, {
      address: server.address,
      token: "tls-token",
    });
    expect(await codeOf(client.getStatus({}))).not.toBe("ok");
  });
});
