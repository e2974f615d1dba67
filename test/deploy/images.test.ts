import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { isolatedServersEnv } from "../support/service-env.js";
import { type RunningService, type ServiceName, startService } from "../support/service-process.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const services: ServiceName[] = ["agent-manager", "span-poller", "trace-assembler"];
const workspaces = ["shared", ...services.map((s) => `services/${s}`)];

function dockerfile(service: ServiceName): string {
  return readFileSync(join(root, "services", service, "Dockerfile"), "utf8");
}

/** The files a runtime stage copies from the build stage, as paths relative to /app. */
function copiedFromBuild(text: string): string[] {
  const runtime = text.slice(text.lastIndexOf("AS runtime"));
  return [...runtime.matchAll(/^COPY --from=build \/app\/(\S+) /gm)].map((m) => m[1] as string);
}

describe.each(services)("the %s image", (service) => {
  const text = dockerfile(service);

  it("builds on a base image pinned by digest and runs as a non-root user", () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=[\w./:-]+@sha256:[0-9a-f]{64}$/m);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ARG reference
    for (const from of text.matchAll(/^FROM (\S+)/gm)) expect(from[1]).toBe("${NODE_IMAGE}");
    expect(text.slice(text.lastIndexOf("AS runtime"))).toMatch(/^USER node$/m);
  });

  it("checks health with node alone, in exec form, against its own HTTP port", () => {
    const port = /HTTP_LISTEN=0\.0\.0\.0:(\d+)/.exec(text)?.[1];
    expect(text).toContain(
      `CMD ["node", "shared/dist/service/healthcheck.js", "http://127.0.0.1:${port}/healthz"]`,
    );
    expect(text).toContain(`ENTRYPOINT ["node", "services/${service}/dist/main.js"]`);
  });

  it("copies only artifacts the build produces", () => {
    const copied = copiedFromBuild(text);
    expect(copied).toContain(`services/${service}/dist`);
    for (const path of copied) expect(existsSync(join(root, path)), path).toBe(true);
  });
});

describe("the runtime tree the images assemble", () => {
  let tree: string;
  let running: RunningService | undefined;

  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  beforeAll(async () => {
    // The same steps as the images' deps and runtime stages: production dependencies of
    // the shared library and the services, then the built dist folders, nothing else.
    tree = mkdtempSync(join(tmpdir(), "deeptrace-image-"));
    cpSync(join(root, "package.json"), join(tree, "package.json"));
    cpSync(join(root, "package-lock.json"), join(tree, "package-lock.json"));
    for (const ws of workspaces) {
      mkdirSync(join(tree, ws), { recursive: true });
      cpSync(join(root, ws, "package.json"), join(tree, ws, "package.json"));
    }
    await run(
      "npm",
      [
        "ci",
        "--omit=dev",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        ...workspaces.flatMap((ws) => ["--workspace", ws]),
      ],
      { cwd: tree, timeout: 300_000 },
    );
    for (const ws of workspaces)
      cpSync(join(root, ws, "dist"), join(tree, ws, "dist"), { recursive: true });
  }, 360_000);

  it.each(services)(
    "starts %s without dev dependencies, connected to the real servers, and passes its health check",
    async (service) => {
      const section = service.replace("-", "_").toUpperCase();
      const started = await startService(service, {
        entry: join(tree, "services", service, "dist", "main.js"),
        env: {
          DEEPTRACE__AUTH__ENABLED: "false",
          [`DEEPTRACE__${section}__LISTEN`]: "127.0.0.1:0",
          ...isolatedServersEnv(`images-${service}`),
        },
      });
      running = started;
      await started.ready();
      const healthcheck = join(tree, "shared", "dist", "service", "healthcheck.js");
      const healthy = await run(process.execPath, [
        healthcheck,
        `http://${started.http}/healthz`,
      ]).then(
        () => 0,
        (error: { code: number }) => error.code,
      );
      expect(healthy).toBe(0);
      expect(await started.stop()).toBe(0);
      const afterStop = await run(process.execPath, [
        healthcheck,
        `http://${started.http}/healthz`,
      ]).then(
        () => 0,
        (error: { code: number }) => error.code,
      );
      expect(afterStop).toBe(1);
    },
  );
});
