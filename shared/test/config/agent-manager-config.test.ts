import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load-config.js";

const dir = mkdtempSync(join(tmpdir(), "deeptrace-am-config-"));
let n = 0;
function file(text: string): string {
  const path = join(dir, `c${n++}.toml`);
  writeFileSync(path, text);
  return path;
}

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ path: file(text), env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("[agent_manager] and [[agents]]", () => {
  it("has fleet defaults an operator can rely on", () => {
    const config = loadConfig({ env: {} });
    const am = config.agent_manager;
    expect(am.concurrency).toBe(8);
    expect(am.trust_on_first_use).toBe(false);
    expect(am.known_hosts_file).toBeUndefined();
    expect(am.agent_defaults.source.install_dir).toBe("deeptrace-agents/{agent}");
    expect(am.agent_defaults.api_port).toBe(7899);
  });

  it("reads key auth, sudo with a referenced password, a pinned key, labels, source and emulator blocks", () => {
    const path = file(`
[agent_manager]
known_hosts_file = "/etc/deeptrace/known_hosts"
trust_on_first_use = true
probe_interval_ms = 2000
[agent_manager.agent_defaults.source]
repository_url = "/srv/agent.git"
ref = "0123abcd"
[agent_manager.agent_defaults.emulator]
dataset = "/data/rps100-spans.json"

[[agents]]
[agents.agent_info]
agent_name = "h1"
user_name = "dtagent"
host_ip = "10.77.0.11"
private_key_path = "/keys/id_ed25519"
host_key_fingerprint = "SHA256:abcdEFGH0123+/xyz"
sudo = true
sudo_password = "env:SUDO_PW"
labels = { zone = "a" }
[agents.source]
ref = "v2"
[agents.emulator]
speed = 2.0
`);
    const config = loadConfig({ path, env: { SUDO_PW: "it's $(x); y z" } });
    const agent = config.agents[0];
    expect(agent?.agent_info.sudo).toBe(true);
    expect(agent?.agent_info.sudo_password?.reveal()).toBe("it's $(x); y z");
    expect(String(agent?.agent_info.sudo_password)).toBe("[redacted]");
    expect(agent?.source?.ref).toBe("v2");
    expect(agent?.emulator).toEqual({ speed: 2 });
    expect(config.agent_manager.agent_defaults.source.ref).toBe("0123abcd");
  });

  it("names the agent key when neither a password nor a key is given, and a bad fingerprint", () => {
    const found = problems(`
[[agents]]
[agents.agent_info]
agent_name = "h1"
user_name = "u"
host_ip = "10.0.0.1"
host_key_fingerprint = "MD5:aa:bb"
`);
    expect(found.some((p) => p.includes('key "agents.0.agent_info.host_key_fingerprint"'))).toBe(
      true,
    );
    const missing = problems(`
[[agents]]
[agents.agent_info]
agent_name = "h1"
user_name = "u"
host_ip = "10.0.0.1"
`);
    expect(
      missing.some((p) =>
        p.includes("give agent_info.host_password or agent_info.private_key_path"),
      ),
    ).toBe(true);
  });

  it("rejects misspelled manager keys", () => {
    expect(problems("[agent_manager]\ntrust_on_first_us = true\n")[0]).toContain(
      'unknown key "agent_manager.trust_on_first_us"',
    );
  });
});
