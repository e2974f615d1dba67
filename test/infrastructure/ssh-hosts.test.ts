/**
 * The SSH test hosts the agent-manager deploys to: each its own address and host key, key
 * and password logins, exit statuses, sudo only with the password fed on stdin, and the
 * way back to Elasticsearch and NATS.
 */
import { readFileSync } from "node:fs";
import type { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  esUrl,
  natsUrl,
  type SshHost,
  sshHosts,
  sshPassword,
  urlForHosts,
} from "../support/infrastructure.js";
import { fingerprintOf, shellQuote, sshConnect, sshExec } from "../support/ssh.js";

const { mode, hosts } = sshHosts();

/** CLOCK_BOOTTIME minus CLOCK_MONOTONIC here (time spent suspended; 0 on servers). */
function bootMinusMonotonicNs(): bigint {
  const mono = process.hrtime.bigint();
  const boot = BigInt(Math.round(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1e9));
  return boot - mono;
}

describe("SSH test hosts", () => {
  it("are at least three, each with its own address and host key", () => {
    expect(hosts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(hosts.map((host) => host.ip)).size).toBe(hosts.length);
    expect(new Set(hosts.map((host) => host.hostKeyFingerprint)).size).toBe(hosts.length);
  });

  it("are all in the known_hosts file with the pinned fingerprints", () => {
    const lines = readFileSync(hosts[0]?.knownHostsPath ?? "", "utf8")
      .trim()
      .split("\n");
    for (const host of hosts) {
      const pattern = host.port === 22 ? host.ip : `[${host.ip}]:${host.port}`;
      const entry = lines.map((line) => line.split(" ")).find(([name]) => name === pattern);
      expect(entry?.[1]).toBe("ssh-ed25519");
      expect(fingerprintOf(Buffer.from(entry?.[2] ?? "", "base64"))).toBe(host.hostKeyFingerprint);
    }
  });

  it("refuse a connection whose host key does not match the pinned fingerprint", async () => {
    const [first, second] = hosts as [SshHost, SshHost];
    await expect(
      sshConnect(first, "key", { expectFingerprint: second.hostKeyFingerprint }),
    ).rejects.toThrow(`host key of ${first.name} (${first.ip}) is ${first.hostKeyFingerprint}`);
  });

  it("reject a wrong password", async () => {
    const host = hosts[0] as SshHost;
    await expect(sshConnect(host, "password", { password: "wrong password" })).rejects.toThrow(
      /authentication methods failed/,
    );
  });

  describe.each(hosts)("$name ($ip)", (host) => {
    let viaKey: Client;
    let viaPassword: Client;

    beforeAll(async () => {
      [viaKey, viaPassword] = await Promise.all([
        sshConnect(host, "key"),
        sshConnect(host, "password"),
      ]);
    });

    afterAll(() => {
      viaKey?.end();
      viaPassword?.end();
    });

    it("runs a command over key auth on its own address and returns its exit status", async () => {
      const result = await sshExec(
        viaKey,
        "echo \"$SSH_CONNECTION\"; ip -4 -o addr show scope global | awk '{print $4}'; exit 3",
      );
      expect(result.code).toBe(3);
      const [connection = "", ...addresses] = result.stdout.trim().split("\n");
      expect(connection.split(" ")[2]).toBe(host.ip);
      if (mode === "netns") {
        expect(addresses).toEqual([`${host.ip}/24`]);
      }
    });

    it("runs a command over password auth as the test user", async () => {
      const result = await sshExec(viaPassword, "id -un; git --version");
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdout).toMatch(new RegExp(`^${host.user}\\ngit version `));
    });

    it("grants sudo only with the password, fed on stdin", async () => {
      const withoutPassword = await sshExec(viaKey, "sudo -n true");
      expect(withoutPassword.code).not.toBe(0);

      const withPassword = await sshExec(viaKey, "sudo -S -p '' id -u", `${sshPassword(host)}\n`);
      expect(withPassword).toMatchObject({ code: 0, stdout: "0\n" });
    });

    it("has its own monotonic clock, ahead of this machine's by its recorded shift", async () => {
      const before = process.hrtime.bigint();
      const result = await sshExec(viaKey, "cat /proc/uptime");
      const after = process.hrtime.bigint();
      expect(result.code).toBe(0);
      // /proc/uptime is CLOCK_BOOTTIME, shifted like CLOCK_MONOTONIC in the host's namespace.
      const remoteNs = BigInt(Math.round(Number(result.stdout.split(" ")[0]) * 1e9));
      const shift = BigInt(host.clockShiftNs);
      const localBoot = (ns: bigint) => ns + bootMinusMonotonicNs();
      expect(remoteNs - shift).toBeGreaterThanOrEqual(localBoot(before) - 20_000_000n);
      expect(remoteNs - shift).toBeLessThanOrEqual(localBoot(after) + 20_000_000n);
    });

    it("reaches Elasticsearch and NATS at the gateway address", async () => {
      const clusterPath = "/_cluster/state/metadata?filter_path=metadata.cluster_uuid";
      const local = await (await fetch(`${esUrl()}${clusterPath}`)).json();
      const nats = new URL(urlForHosts(natsUrl()));
      const result = await sshExec(
        viaKey,
        [
          `curl -fsS --max-time 5 ${shellQuote(`${urlForHosts(esUrl())}${clusterPath}`)}`,
          "echo",
          `exec 3<>/dev/tcp/${nats.hostname}/${nats.port}`,
          "head -c 5 <&3",
        ].join("; "),
      );
      expect(result.code).toBe(0);
      const [cluster = "", natsGreeting] = result.stdout.split("\n");
      expect(JSON.parse(cluster)).toEqual(local);
      expect(natsGreeting).toBe("INFO ");
    });
  });
});
