import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadConfig } from "@deeptrace/shared/config/load-config";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const binDir = join(process.env.DEEPTRACE_CACHE ?? join(homedir(), ".cache", "deeptrace"), "bin");
const checker = join(binDir, "compose-check");

interface ComposeService {
  image?: string;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
  volumes?: { source?: string; target: string; type: string }[];
  environment?: Record<string, string | null>;
}

function envFile(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(root, ".env.example"), "utf8")
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split("=", 2) as [string, string]),
  );
}

async function compose(...args: string[]): Promise<{ services: Record<string, ComposeService> }> {
  const { stdout } = await run(checker, [...args, join(root, "docker-compose.yml")]);
  return JSON.parse(stdout);
}

beforeAll(async () => {
  // compose-go is the loader `docker compose` itself uses; it needs no Docker engine.
  mkdirSync(binDir, { recursive: true });
  await run("go", ["build", "-o", checker, "."], { cwd: join(root, "tools", "compose-check") });
}, 600_000);

describe("docker-compose.yml", () => {
  it("loads with compose-go, with every service and the optional Kibana profile", async () => {
    const project = await compose("-env-file", join(root, ".env.example"), "-profile", "kibana");
    expect(Object.keys(project.services).sort()).toEqual([
      "agent-manager",
      "elasticsearch",
      "kibana",
      "nats",
      "span-poller",
      "trace-assembler",
    ]);
  });

  it("runs more than one assembler and starts services only after their dependencies are healthy", async () => {
    const { services } = await compose("-env-file", join(root, ".env.example"));
    expect(services["trace-assembler"]?.deploy?.replicas).toBeGreaterThan(1);
    for (const name of ["agent-manager", "span-poller", "trace-assembler"]) {
      const dependsOn = Object.values(services[name]?.depends_on ?? {});
      expect(dependsOn.length, name).toBeGreaterThan(0);
      expect(
        dependsOn.every((d) => d.condition === "service_healthy"),
        name,
      ).toBe(true);
    }
    for (const name of ["elasticsearch", "nats"]) {
      expect(services[name]?.healthcheck?.test?.length, name).toBeGreaterThan(0);
    }
    const esVolumes = services.elasticsearch?.volumes ?? [];
    expect(esVolumes).toContainEqual(
      expect.objectContaining({ type: "volume", target: "/usr/share/elasticsearch/data" }),
    );
    expect(services.nats?.volumes).toContainEqual(
      expect.objectContaining({ type: "volume", target: "/data" }),
    );
  });

  it("refuses to load without the secrets from .env, naming the missing variable", async () => {
    const failure = await compose().then(
      () => "",
      (error: { stderr: string }) => error.stderr,
    );
    // compose-go reports the first variable it meets, in no fixed order.
    const names = Object.keys(envFile()).join("|");
    expect(failure).toMatch(new RegExp(`required variable (${names}) is missing a value`));
  });

  it("holds no secret values itself, in the compose file or the mounted configuration", () => {
    const files = ["docker-compose.yml", "deploy/deeptrace.toml", "deploy/nats.conf"].map((f) =>
      readFileSync(join(root, f), "utf8"),
    );
    for (const value of Object.values(envFile())) {
      for (const text of files) expect(text).not.toContain(value);
    }
  });

  it("mounts a configuration that the services accept", () => {
    const config = loadConfig({ path: join(root, "deploy", "deeptrace.toml"), env: envFile() });
    expect(config.elastic.url).toBe("http://elasticsearch:9200");
    expect(config.elastic.password?.reveal()).toBe(envFile().ELASTIC_PASSWORD);
    expect(config.auth.tokens.map((t) => t.role)).toEqual(["admin", "viewer"]);
  });
});
