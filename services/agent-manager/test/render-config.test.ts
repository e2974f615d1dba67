import { Secret } from "@deeptrace/shared/config/secret";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
// The emulator is plain JavaScript; its reader and hash must agree with the manager's.
// @ts-expect-error no type declarations for the emulator's .mjs modules
import { configHash as emulatorHash } from "../../../tools/agent-emulator/lib/config.mjs";
// @ts-expect-error no type declarations for the emulator's .mjs modules
import { parseToml } from "../../../tools/agent-emulator/lib/toml.mjs";
import type { AgentRecord } from "../src/inventory/agent-record.js";
import { configHash } from "../src/lifecycle/config-hash.js";
import { deepMerge, renderAgentConfig, spanIndexOf } from "../src/lifecycle/render-config.js";

const agent: AgentRecord = {
  name: "host1",
  host: "10.77.0.11",
  sshPort: 22,
  user: "dtagent",
  password: new Secret("never-in-output"),
  labels: { zone: "a" },
  source: {
    repositoryUrl: "/srv/agent.git",
    ref: "abc123",
    installDir: "deeptrace-agents/host1",
    installScript: "install.sh",
    runScript: "run.sh",
    stopScript: "stop.sh",
  },
  apiPort: 7899,
  sudo: false,
  blocks: {
    trace: { pids: [3056354, 3056217] },
    ebpf: { probes: { http: true, dns: false }, "ring buffer": 4096 },
    sender: { batch_size: 256 },
  },
  configPatch: {},
  origin: "config",
};

const ctx = {
  elasticUrl: "http://10.77.0.1:9200",
  elasticPassword: new Secret("es-s3cret"),
  bulkSize: 1024,
  defaults: { sender: {}, emulator: { dataset: "/data/spans.json", speed: 0.5 } },
};

describe("renderAgentConfig", () => {
  it("fills in the agent name, the Elasticsearch address, the span index and the API port", () => {
    const rendered = renderAgentConfig(agent, ctx);
    const parsed = parse(rendered.toml) as Record<string, Record<string, unknown>>;
    expect(parsed.agent).toEqual({ name: "host1", host: "10.77.0.11" });
    expect(parsed.elastic).toEqual({
      url: "http://10.77.0.1:9200",
      username: "elastic",
      password: "es-s3cret",
    });
    expect(parsed.sender).toEqual({ index_name: "spans_host1", batch_size: 256 });
    expect(parsed.api).toEqual({ address: "0.0.0.0", port: 7899 });
    expect(parsed.trace).toEqual({ pids: [3056354, 3056217] });
    expect(parsed.emulator).toEqual({ dataset: "/data/spans.json", speed: 0.5 });
    expect(spanIndexOf(rendered.object, "host1")).toBe("spans_host1");
  });

  it("redacts secrets in the form shown to API callers, and never holds the SSH password", () => {
    const rendered = renderAgentConfig(agent, ctx);
    expect(rendered.redactedToml).toContain('password = "[redacted]"');
    expect(rendered.redactedToml).not.toContain("es-s3cret");
    expect(rendered.toml).not.toContain("never-in-output");
  });

  it("applies the UpdateConfig patch last, and the hash follows the content", () => {
    const before = renderAgentConfig(agent, ctx);
    const patched = renderAgentConfig(
      {
        ...agent,
        configPatch: { sender: { index_name: "spans_host1_v2" }, emulator: { speed: 2 } },
      },
      ctx,
    );
    expect(spanIndexOf(patched.object, "host1")).toBe("spans_host1_v2");
    expect((patched.object.emulator as { speed: number }).speed).toBe(2);
    expect(patched.hash).not.toBe(before.hash);
    expect(renderAgentConfig(agent, ctx).hash).toBe(before.hash);
  });

  it("renders TOML the emulator reads back to the same config and hash", () => {
    const rendered = renderAgentConfig(agent, ctx);
    const read = parseToml(rendered.toml);
    expect(read).toEqual(rendered.object);
    expect(emulatorHash(read)).toBe(rendered.hash);
    expect(configHash(JSON.parse(JSON.stringify(rendered.object)))).toBe(rendered.hash);
  });
});

describe("deepMerge", () => {
  it("merges objects key by key, replaces other values and deletes on null", () => {
    expect(
      deepMerge({ a: { b: 1, c: 2 }, d: [1], e: 1 }, { a: { c: 3 }, d: [2], e: null }),
    ).toEqual({
      a: { b: 1, c: 3 },
      d: [2],
    });
  });
});

describe("the emulator's TOML reader", () => {
  it("reads what TOML allows in agent configs and refuses what it does not support", () => {
    const text = `# c\n[a]\nx = "q\\"uote \\u00e9" # trailing\ny = 'lit'\nz = [1, 2.5, -3, true, "s"]\nt = { k = 1, "q k" = "v" }\n[a.b]\nn = 1_000\n[[arr]]\nv = 1\n[[arr]]\nv = 2\n`;
    expect(parseToml(text)).toEqual({
      a: {
        x: 'q"uote é',
        y: "lit",
        z: [1, 2.5, -3, true, "s"],
        t: { k: 1, "q k": "v" },
        b: { n: 1000 },
      },
      arr: [{ v: 1 }, { v: 2 }],
    });
    expect(() => parseToml('x = """multi"""')).toThrow(/line 1/);
    expect(() => parseToml("x = 1\nx = 2")).toThrow(/line 2: x defined twice/);
  });
});
