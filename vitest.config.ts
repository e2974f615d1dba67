import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const sharedSrc = fileURLToPath(new URL("./shared/src/", import.meta.url));

// Tests import the shared library from source; spawned service processes run the built dist.
const alias = [{ find: /^@deeptrace\/shared\/(.*)$/, replacement: `${sharedSrc}$1.ts` }];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["shared/test/**/*.test.ts", "services/*/test/**/*.test.ts"],
          // Generator- and engine-heavy tests take seconds of CPU; on 2 busy cores the
          // default 5 s budget ends correct runs.
          testTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          // Real Elasticsearch, NATS, SSH hosts and grpcurl: see test/setup/global-setup.ts.
          globalSetup: ["test/setup/global-setup.ts"],
          pool: "forks",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
