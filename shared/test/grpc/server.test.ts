import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Secret } from "@deeptrace/shared/config/secret";
import {
  AgentManagerService,
  WatchAgentsResponseSchema,
} from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import { AgentState } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_pb";
import type { AuditRecord } from "@deeptrace/shared/grpc/audit";
import { BearerAuthenticator } from "@deeptrace/shared/grpc/auth";
import { createServiceClient } from "@deeptrace/shared/grpc/client";
import type { HostedService } from "@deeptrace/shared/grpc/host-service";
import { principalOf } from "@deeptrace/shared/grpc/principal";
import { GrpcServer } from "@deeptrace/shared/grpc/server";
import { unimplemented } from "@deeptrace/shared/grpc/unimplemented";
import { createLogger } from "@deeptrace/shared/logging/logger";
import { createMetricsRegistry } from "@deeptrace/shared/metrics/registry";
import { afterEach, describe, expect, it } from "vitest";

const tokens = [
  { name: "alice", role: "viewer" as const, token: new Secret("viewer-token") },
  { name: "bob", role: "operator" as const, token: new Secret("operator-token") },
];

function agentService(slowMs: number): HostedService<typeof AgentManagerService> {
  const notYet = (m: string) => () => {
    throw unimplemented(m);
  };
  return {
    service: AgentManagerService,
    roles: {
      listAgents: "viewer",
      getAgent: "viewer",
      registerAgent: "admin",
      updateAgent: "admin",
      removeAgent: "admin",
      deployAgents: "operator",
      startAgents: "operator",
      stopAgents: "operator",
      restartAgents: "operator",
      syncConfig: "operator",
      updateConfig: "operator",
      testConnectivity: "operator",
      getAgentConfig: "viewer",
      watchAgents: "viewer",
    },
    implementation: {
      listAgents: (_req, ctx) => ({ agents: [{ name: `seen-by-${principalOf(ctx).name}` }] }),
      getAgent: (req) => {
        if (req.name === "boom") throw new Error("database password is hunter2");
        throw new ConnectError(`agent "${req.name}" not found`, Code.NotFound);
      },
      registerAgent: notYet("RegisterAgent"),
      updateAgent: notYet("UpdateAgent"),
      removeAgent: notYet("RemoveAgent"),
      deployAgents: notYet("DeployAgents") as never,
      startAgents: async () => {
        await new Promise((r) => setTimeout(r, slowMs));
        return { results: [{ agent: "a1", ok: true }] };
      },
      stopAgents: notYet("StopAgents"),
      restartAgents: notYet("RestartAgents"),
      syncConfig: notYet("SyncConfig"),
      updateConfig: notYet("UpdateConfig"),
      testConnectivity: notYet("TestConnectivity"),
      getAgentConfig: notYet("GetAgentConfig"),
      watchAgents: async function* (_req, ctx) {
        for (let i = 0; !ctx.signal.aborted; i++) {
          yield create(WatchAgentsResponseSchema, {
            change: { agent: `a${i}`, state: AgentState.RUNNING },
          });
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    },
  };
}

let server: GrpcServer | undefined;
afterEach(async () => {
  await server?.shutdown(100);
  server = undefined;
});

async function start(slowMs = 0) {
  const audits: AuditRecord[] = [];
  server = await GrpcServer.start({
    services: [agentService(slowMs)],
    listen: "127.0.0.1:0",
    auth: new BearerAuthenticator(tokens, true),
    logger: createLogger({ service: "test", level: "silent" }),
    registry: createMetricsRegistry("test"),
    audit: (record) => audits.push(record),
  });
  const client = (token?: string) =>
    createServiceClient(AgentManagerService, { address: server?.address ?? "", token });
  return { client, audits };
}

async function codeOf(promise: Promise<unknown>): Promise<[Code, string]> {
  try {
    await promise;
  } catch (error) {
    const e = ConnectError.from(error);
    return [e.code, e.rawMessage];
  }
  throw new Error("expected the call to fail");
}

describe("GrpcServer", () => {
  it("rejects calls without a token or with an unknown one as UNAUTHENTICATED", async () => {
    const { client } = await start();
    expect((await codeOf(client().listAgents({})))[0]).toBe(Code.Unauthenticated);
    expect((await codeOf(client("nope").listAgents({})))[0]).toBe(Code.Unauthenticated);
  });

  it("hands the principal to the implementation", async () => {
    const { client } = await start();
    const response = await client("viewer-token").listAgents({});
    expect(response.agents.map((a) => a.name)).toEqual(["seen-by-alice"]);
  });

  it("rejects an under-privileged call as PERMISSION_DENIED and audits it", async () => {
    const { client, audits } = await start();
    const [code, message] = await codeOf(client("viewer-token").startAgents({}));
    expect(code).toBe(Code.PermissionDenied);
    expect(message).toContain("needs role operator");
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      method: "StartAgents",
      principal: "alice",
      outcome: "PERMISSION_DENIED",
    });
  });

  it("audits successful mutating calls but not reads", async () => {
    const { client, audits } = await start();
    await client("operator-token").listAgents({});
    const response = await client("operator-token").startAgents({});
    expect(response.results[0]?.ok).toBe(true);
    expect(audits.map((a) => [a.method, a.principal, a.outcome, a.target])).toEqual([
      ["StartAgents", "bob", "OK", "agents=all"],
    ]);
  });

  it("names in the audit record what the call acted on, never what it carried", async () => {
    const { client, audits } = await start();
    await client("operator-token").startAgents({
      selector: { names: ["a1", "a2"], labels: { rack: "r9", env: "prod" } },
    });
    await codeOf(
      client("viewer-token").registerAgent({
        agent: { name: "a3", host: "10.0.0.3", passwordRef: "env:SECRET_PASSWORD" },
      }),
    );
    expect(audits.map((a) => a.target)).toEqual([
      "agents=a1,a2 labels=env=prod,rack=r9",
      "agent=a3",
    ]);
    expect(JSON.stringify(audits)).not.toContain("SECRET_PASSWORD");
  });

  it("keeps the code and message of ConnectErrors and hides unexpected errors", async () => {
    const { client } = await start();
    expect(await codeOf(client("viewer-token").getAgent({ name: "a9" }))).toEqual([
      Code.NotFound,
      'agent "a9" not found',
    ]);
    const [code, message] = await codeOf(client("viewer-token").getAgent({ name: "boom" }));
    expect(code).toBe(Code.Internal);
    expect(message).not.toContain("hunter2");
  });

  it("streams server-streaming responses and ends the stream on shutdown", async () => {
    const { client } = await start();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const message of client("viewer-token").watchAgents({})) {
        seen.push(message.change?.agent ?? "");
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    const stopping = server?.shutdown(5_000);
    server = undefined;
    await reading;
    await stopping;
    expect(seen.slice(0, 3)).toEqual(["a0", "a1", "a2"]);
  });

  it("lets an in-flight unary call finish during a graceful shutdown", async () => {
    const { client } = await start(300);
    const call = client("operator-token").startAgents({});
    await new Promise((r) => setTimeout(r, 50));
    const stopping = server?.shutdown(5_000);
    server = undefined;
    expect((await call).results[0]?.agent).toBe("a1");
    await stopping;
  });
});
