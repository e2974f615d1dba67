import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@deeptrace/shared/config/load-config";
import { describe, expect, it } from "vitest";
import { configInventory } from "../src/inventory.js";

const dir = mkdtempSync(join(tmpdir(), "deeptrace-inventory-"));

function configOf(toml: string) {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, toml);
  return loadConfig({ path, env: {} });
}

function agent(name: string, sender = ""): string {
  return `
[[agents]]
[agents.agent_info]
agent_name = "${name}"
user_name = "dtagent"
host_ip = "10.77.0.11"
private_key_path = "/keys/id_ed25519"
${sender}`;
}

describe("the inventory from [[agents]]", () => {
  it("reads each agent's span index as its config names it, spans_<agent> by default", () => {
    const config = configOf(
      agent("h1") + agent("h2", '[agents.sender]\nindex_name = "custom_h2"\n'),
    );
    expect(configInventory(config).map((a) => [a.name, a.index])).toEqual([
      ["h1", "spans_h1"],
      ["h2", "custom_h2"],
    ]);
  });

  it("takes the agent-manager's default sender index when an agent names none", () => {
    const config = configOf(
      `[agent_manager.agent_defaults.sender]\nindex_name = "fleet_spans"\n` +
        agent("h1") +
        agent("h2", '[agents.sender]\nindex_name = "custom_h2"\n'),
    );
    expect(configInventory(config).map((a) => a.index)).toEqual(["fleet_spans", "custom_h2"]);
  });
});
