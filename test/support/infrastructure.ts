/**
 * Where the real test servers are, as the integration global setup found or started them
 * (test/setup/global-setup.ts). Use these instead of reading the environment, so a test
 * run outside the `integration` project fails with a clear message.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { inject, type ProvidedContext } from "vitest";
import type { SshHost, SshHosts } from "../setup/provided.js";

export type { SshHost, SshHosts } from "../setup/provided.js";

function provided<K extends keyof ProvidedContext & string>(key: K): ProvidedContext[K] {
  const value = inject(key);
  if (value === undefined) {
    throw new Error(
      `"${key}" was not provided: run this test in the vitest project "integration", ` +
        "whose global setup (test/setup/global-setup.ts) starts the test servers",
    );
  }
  return value;
}

/** Elasticsearch base URL on this machine's loopback, e.g. `http://127.0.0.1:20462`. */
export function esUrl(): string {
  return provided("esUrl");
}

/** NATS (JetStream enabled, 8 MiB max_payload) URL on loopback, e.g. `nats://127.0.0.1:4222`. */
export function natsUrl(): string {
  return provided("natsUrl");
}

/** The SSH test hosts, their credentials' files and the gateway at which they reach us. */
export function sshHosts(): SshHosts {
  return provided("sshHosts");
}

/** Path of the pinned grpcurl binary. */
export function grpcurlPath(): string {
  return provided("grpcurlPath");
}

/** A URL of a server on this machine as the SSH test hosts reach it (host part = gateway). */
export function urlForHosts(url: string): string {
  const forHosts = new URL(url);
  forHosts.hostname = sshHosts().gateway;
  return forHosts.toString().replace(/\/$/, "");
}

/** The SSH test user's password. Secret: never log it or put it on a command line. */
export function sshPassword(host: SshHost): string {
  return readFileSync(host.passwordFile, "utf8");
}

/** A TCP port that was free on `host` a moment ago (the OS picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") {
          reject(new Error(`no TCP port was bound on ${host}`));
        } else {
          resolve(address.port);
        }
      });
    });
  });
}
