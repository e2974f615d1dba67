import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcurlPath } from "../support/infrastructure.js";
import { isolatedServersEnv } from "../support/service-env.js";
import {
  type RunningService,
  runServiceToExit,
  type ServiceName,
  startService,
} from "../support/service-process.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "deeptrace-bootstrap-"));
const SECRET_TOKEN = "tok-3f9a-never-logged";

const services: [ServiceName, string][] = [
  ["agent-manager", "deeptrace.agent.v1.AgentManagerService"],
  ["span-poller", "deeptrace.poller.v1.SpanPollerService"],
  ["trace-assembler", "deeptrace.trace.v1.TraceAssemblerService"],
];

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const validConfig = configFile(
  "valid.toml",
  `[log]\nlevel = "debug"\n\n[[auth.tokens]]\nname = "ops"\nrole = "operator"\ntoken = "${SECRET_TOKEN}"\n`,
);

async function grpcurl(...args: string[]): Promise<string> {
  const { stdout } = await run(grpcurlPath(), args, { timeout: 20_000 });
  return stdout;
}

describe.each(services)("%s as its own process", (name, serviceName) => {
  let service: RunningService;

  beforeAll(async () => {
    service = await startService(name, {
      config: validConfig,
      env: isolatedServersEnv(`bootstrap-${name}`),
    });
    await service.ready();
  });

  afterAll(async () => {
    await service?.stop();
  });

  it("lists its service, health and reflection through reflection", async () => {
    const listed = (await grpcurl("-plaintext", service.grpc, "list")).trim().split("\n");
    expect(listed).toEqual(
      expect.arrayContaining([
        serviceName,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
      ]),
    );
  });

  it("answers the health check with SERVING, for the server and for its service", async () => {
    const overall = JSON.parse(
      await grpcurl("-plaintext", service.grpc, "grpc.health.v1.Health/Check"),
    );
    expect(overall).toEqual({ status: "SERVING" });
    const own = JSON.parse(
      await grpcurl(
        "-plaintext",
        "-d",
        JSON.stringify({ service: serviceName }),
        service.grpc,
        "grpc.health.v1.Health/Check",
      ),
    );
    expect(own).toEqual({ status: "SERVING" });
  });

  it("describes its methods through reflection, without proto files", async () => {
    const described = await grpcurl("-plaintext", service.grpc, "describe", serviceName);
    expect(described).toContain(`service ${serviceName.split(".").pop()} {`);
    expect(described).toMatch(/rpc \w+\s*\(/);
  });

  it("rejects a call without a bearer token as Unauthenticated", async () => {
    const method = `${serviceName}/${name === "trace-assembler" ? "GetStats" : name === "span-poller" ? "GetStatus" : "ListAgents"}`;
    const failure = await run(grpcurlPath(), ["-plaintext", service.grpc, method]).then(
      () => undefined,
      (error: { stderr: string }) => error.stderr,
    );
    expect(failure).toContain("Code: Unauthenticated");
  });

  it("serves /healthz and /metrics", async () => {
    const health = await fetch(`http://${service.http}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://${service.http}/metrics`)).text();
    expect(metrics).toContain("deeptrace_grpc_server_handled_total");
    expect(metrics).toContain(`service="${name}"`);
  });

  it("never writes the configured token to its log, and stops cleanly on SIGTERM", async () => {
    const code = await service.stop();
    expect(code).toBe(0);
    const log = service.output.join("\n");
    expect(log).toContain('"msg":"effective configuration"');
    expect(log).toContain('"msg":"stopped"');
    expect(log).not.toContain(SECRET_TOKEN);
  });
});

describe("start-up with a bad configuration", () => {
  it("fails naming the misspelled key and the file", async () => {
    const path = configFile(
      "misspelled.toml",
      '[trace_assembler]\nlisten = "127.0.0.1:0"\nshutdown_grace = 5\n',
    );
    const result = await runServiceToExit("trace-assembler", ["--config", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}: unknown key "trace_assembler.shutdown_grace"`);
  });

  it("fails naming the key and the file of a wrong type", async () => {
    const path = configFile("wrong-type.toml", '[nats]\nmax_deliver = "five"\n');
    const result = await runServiceToExit("span-poller", ["--config", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}: key "nats.max_deliver"`);
  });

  it("prints the effective configuration with secrets redacted", async () => {
    const result = await runServiceToExit("agent-manager", [
      "--config",
      validConfig,
      "--print-config",
    ]);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { auth: { tokens: { token: string }[] } };
    expect(printed.auth.tokens[0]?.token).toBe("[redacted]");
    expect(result.stdout).not.toContain(SECRET_TOKEN);
  });
});
