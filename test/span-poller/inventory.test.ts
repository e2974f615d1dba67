import { AgentManagerService } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import { createServiceClient } from "@deeptrace/shared/grpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningService, startService } from "../support/service-process.js";
import {
  eventually,
  pollerClient,
  type Scenario,
  SpanWriter,
  scenario,
  WindowCollector,
  windowProblems,
  writeConfig,
} from "./poller-harness.js";

const MS = 1_000_000n;

describe("span-poller with the agent-manager's inventory", () => {
  const s: Scenario = scenario("inv", 2);
  const writer = new SpanWriter(s);
  const collector = new WindowCollector(s);
  let manager: RunningService;
  let poller: RunningService;

  beforeAll(async () => {
    await writer.createIndices();
    const base = (BigInt(Date.now()) - 20_000n) * MS;
    await writer.write(
      Array.from({ length: 200 }, (_, i) => ({ agent: 0, wallNs: base + BigInt(i) * 10n * MS })),
      true,
    );
    // Only the first agent is in the file; the second is registered at run time.
    const config = writeConfig(
      s,
      {
        window_ms: 1_000,
        margin_ms: 200,
        allowed_lateness_ms: 1_000,
        poll_interval_ms: 200,
        inventory_refresh_ms: 300,
      },
      1,
    );
    manager = await startService("agent-manager", { config });
    poller = await startService("span-poller", {
      config,
      env: { DEEPTRACE__SPAN_POLLER__AGENT_MANAGER_ADDRESS: manager.grpc },
    });
    await collector.start();
  });

  afterAll(async () => {
    await poller?.stop();
    await manager?.stop();
    await collector.stop();
    await writer.cleanup();
  });

  it("picks up registered and removed agents without a restart", async () => {
    const status = () => pollerClient(poller.grpc).getStatus({});
    const agentsPolled = async () => (await status()).agents.map((a) => a.agent);
    await eventually("first agent windowed", () =>
      windowProblems(collector.received, writer.written),
    );
    expect((await status()).inventorySource).toBe("agent-manager");
    expect(await agentsPolled()).toEqual([s.agents[0]?.name]);

    const manage = createServiceClient(AgentManagerService, { address: manager.grpc });
    const added = s.agents[1]?.name as string;
    await manage.registerAgent({
      agent: {
        name: added,
        host: "127.0.0.1",
        user: "deeptrace",
        privateKeyPath: "/nonexistent/key",
      },
    });
    await eventually("registered agent polled", async () =>
      (await agentsPolled()).includes(added) ? [] : ["not yet"],
    );
    const now = BigInt(Date.now()) * MS;
    await writer.write(
      Array.from({ length: 100 }, (_, i) => ({ agent: i % 2, wallNs: now - BigInt(i) * 5n * MS })),
      true,
    );
    await eventually("both agents windowed", () =>
      windowProblems(collector.received, writer.written),
    );
    const offsets = (await status()).agents.map((a) => a.clockOffsetNs);
    expect(offsets).toEqual(
      [...s.agents].sort((x, y) => (x.name < y.name ? -1 : 1)).map((a) => a.offsetNs),
    );

    await manage.removeAgent({ name: added });
    await eventually("removed agent dropped", async () =>
      (await agentsPolled()).includes(added) ? ["still polled"] : [],
    );
  });
});
