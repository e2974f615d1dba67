import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { effectiveConfigJson } from "@deeptrace/shared/config/effective-config";
import { ConfigError, loadConfig } from "@deeptrace/shared/config/load-config";
import { describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "deeptrace-config-"));
let n = 0;
function file(text: string): string {
  const path = join(dir, `config-${n++}.toml`);
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("uses defaults when no file is given", () => {
    const config = loadConfig({ env: {} });
    expect(config.nats.stream).toBe("DEEPTRACE_WINDOWS");
    expect(config.trace_assembler.listen).toBe("127.0.0.1:50053");
    expect(config.agents).toEqual([]);
  });

  it("names the file and the misspelled key", () => {
    const path = file("[elastic]\nreqest_timeout = 5\n");
    const problems = problemsOf(() => loadConfig({ path, env: {} }));
    expect(problems).toEqual([`${path}: unknown key "elastic.reqest_timeout"`]);
  });

  it("names the file and key of a wrong type", () => {
    const path = file('[elastic]\nrequest_timeout = "soon"\n');
    const [problem] = problemsOf(() => loadConfig({ path, env: {} }));
    expect(problem).toContain(path);
    expect(problem).toContain('key "elastic.request_timeout"');
    expect(problem).toMatch(/expected number/);
  });

  it("reports every problem at once, including ones inside [[agents]]", () => {
    const path = file(
      '[nats]\nmax_deliver = 0\n[[agents]]\n[agents.agent_info]\nagent_name = "a1"\nhost_ip = "10.0.0.1"\n',
    );
    const problems = problemsOf(() => loadConfig({ path, env: {} }));
    expect(problems.some((p) => p.includes('key "nats.max_deliver"'))).toBe(true);
    expect(problems.some((p) => p.includes('key "agents.0.agent_info.user_name"'))).toBe(true);
  });

  it("reports TOML syntax errors with the file name", () => {
    const path = file("[elastic\n");
    const [problem] = problemsOf(() => loadConfig({ path, env: {} }));
    expect(problem).toMatch(new RegExp(`^${path}: not valid TOML`));
  });

  it("reports a missing file by name", () => {
    const [problem] = problemsOf(() => loadConfig({ path: join(dir, "absent.toml"), env: {} }));
    expect(problem).toBe(`${join(dir, "absent.toml")}: cannot read the file (ENOENT)`);
  });

  it("lets the environment override any key, typed as TOML values", () => {
    const path = file('[elastic]\nurl = "http://file:9200"\n');
    const config = loadConfig({
      path,
      env: {
        DEEPTRACE__ELASTIC__URL: "http://env:9200",
        DEEPTRACE__NATS__MAX_DELIVER: "9",
        DEEPTRACE__AUTH__ENABLED: "false",
        DEEPTRACE__SPAN_POLLER__LISTEN: "0.0.0.0:7000",
      },
    });
    expect(config.elastic.url).toBe("http://env:9200");
    expect(config.nats.max_deliver).toBe(9);
    expect(config.auth.enabled).toBe(false);
    expect(config.span_poller.listen).toBe("0.0.0.0:7000");
  });

  it("names the environment variable when an override is invalid", () => {
    const [problem] = problemsOf(() =>
      loadConfig({
        env: { DEEPTRACE__NATS__MAX_DELIVER: "many", DEEPTRACE__NATS__MAX_DELIVR: "3" },
      }),
    );
    expect(problem).toContain("environment DEEPTRACE__NATS__MAX_DELIVER");
    const problems = problemsOf(() => loadConfig({ env: { DEEPTRACE__NATS__MAX_DELIVR: "3" } }));
    expect(problems).toEqual([
      'environment DEEPTRACE__NATS__MAX_DELIVR: unknown key "nats.max_delivr"',
    ]);
  });

  it("resolves secrets by reference and never prints them", () => {
    const secretFile = join(dir, "token.txt");
    writeFileSync(secretFile, "file-secret-value\n");
    const path = file(
      [
        "[elastic]",
        'password = "env:ES_PASSWORD"',
        "[[auth.tokens]]",
        'name = "ops"',
        'role = "operator"',
        `token = "file:${secretFile}"`,
      ].join("\n"),
    );
    const config = loadConfig({ path, env: { ES_PASSWORD: "env-secret-value" } });
    expect(config.elastic.password?.reveal()).toBe("env-secret-value");
    expect(config.auth.tokens[0]?.token.reveal()).toBe("file-secret-value");
    const printed = effectiveConfigJson(config);
    expect(printed).not.toContain("env-secret-value");
    expect(printed).not.toContain("file-secret-value");
    expect(printed).toContain("[redacted]");
    expect(String(config.elastic.password)).toBe("[redacted]");
  });

  it("names the key and the variable of an unresolvable secret, not its value", () => {
    const path = file('[elastic]\npassword = "env:NOT_SET_ANYWHERE"\n');
    const [problem] = problemsOf(() => loadConfig({ path, env: {} }));
    expect(problem).toBe(
      `${path}: key "elastic.password": environment variable NOT_SET_ANYWHERE is not set`,
    );
  });

  it("accepts the upstream server configuration shape", () => {
    const path = file(`
[elastic]
elastic_password = "env:UPSTREAM_PW"
port = 9200
kibana_password = "env:UPSTREAM_PW"
bulk_size = 1024
request_timeout = 10
agent_status_index = "agent_status"
username = "elastic"

[server]
ip  = "192.0.2.10"
port = 7901
path = "deeptrace/ws"

[[agents]]
  [agents.agent_info]
  agent_name = "agent1"
  user_name = "ubuntu"
  host_ip = "192.0.2.11"
  ssh_port = "22"
  host_password = "env:UPSTREAM_PW"
  deeptrace_port = 52001
  code_path = "/opt/deeptrace"
  workers = 16

  [agents.span]
  batch_size = 1024

  [agents.sender]
  index_name = "spans_agent1"
  batch_size = 1024

  [agents.trace]
  pids = [3056354, 3056217]

  [agents.api]
  port = 7899
  address = "0.0.0.0"
`);
    const config = loadConfig({ path, env: { UPSTREAM_PW: "pw" } });
    const agent = config.agents[0];
    expect(agent?.agent_info.ssh_port).toBe(22);
    expect(agent?.agent_info.host_password?.reveal()).toBe("pw");
    expect(agent?.trace).toEqual({ pids: [3056354, 3056217] });
    expect(config.server.ip).toBe("192.0.2.10");
  });
});
