import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fingerprintOf,
  keyTypeOf,
  knownHostsLine,
  parseKnownHosts,
  verifyHostKey,
} from "../src/ssh/host-key.js";

function keyBlob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const b = Buffer.from(body);
  const len = (n: number) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(n);
    return out;
  };
  return Buffer.concat([len(t.length), t, len(b.length), b]);
}

const KEY = keyBlob("ssh-ed25519", "host-key-a-32-bytes-of-key-data!!");
const OTHER = keyBlob("ssh-ed25519", "host-key-b-32-bytes-of-key-data!!");
const dir = mkdtempSync(join(tmpdir(), "am-hostkey-"));

describe("host key verification", () => {
  it("computes OpenSSH SHA256 fingerprints", () => {
    const expected = createHash("sha256").update(KEY).digest("base64").replace(/=+$/, "");
    expect(fingerprintOf(KEY)).toBe(`SHA256:${expected}`);
    expect(keyTypeOf(KEY)).toBe("ssh-ed25519");
  });

  it("accepts the pinned key and refuses any other, naming both fingerprints", () => {
    const policy = { pinnedFingerprint: fingerprintOf(KEY), trustOnFirstUse: true };
    expect(verifyHostKey(policy, "10.0.0.1", 22, KEY)).toEqual({ accept: true, how: "pinned" });
    const refused = verifyHostKey(policy, "10.0.0.1", 22, OTHER);
    expect(refused.accept).toBe(false);
    if (!refused.accept) {
      expect(refused.reason).toContain(fingerprintOf(OTHER));
      expect(refused.reason).toContain(fingerprintOf(KEY));
    }
  });

  it("reads plain, bracketed-port and hashed known_hosts entries", () => {
    const salt = Buffer.from("0123456789abcdefghij");
    const hashed = createHmac("sha1", salt).update("[10.0.0.3]:2222").digest("base64");
    const text = [
      "# comment",
      `10.0.0.1,host1 ssh-ed25519 ${KEY.toString("base64")}`,
      `[10.0.0.2]:2222 ssh-ed25519 ${KEY.toString("base64")}`,
      `|1|${salt.toString("base64")}|${hashed} ssh-ed25519 ${OTHER.toString("base64")}`,
      `@revoked 10.0.0.9 ssh-ed25519 ${OTHER.toString("base64")}`,
    ].join("\n");
    expect(parseKnownHosts(text, "host1", 22).keys).toHaveLength(1);
    expect(parseKnownHosts(text, "10.0.0.2", 2222).keys).toHaveLength(1);
    expect(parseKnownHosts(text, "10.0.0.2", 22).keys).toHaveLength(0);
    expect(parseKnownHosts(text, "10.0.0.3", 2222).keys[0]?.keyBlob.equals(OTHER)).toBe(true);
    expect(parseKnownHosts(text, "10.0.0.9", 22).revoked).toHaveLength(1);
  });

  it("refuses a host whose known_hosts key differs, even with trust on first use", () => {
    const file = join(dir, "known_hosts_mismatch");
    writeFileSync(file, `10.0.0.1 ssh-ed25519 ${KEY.toString("base64")}\n`);
    const decision = verifyHostKey(
      { knownHostsFile: file, trustOnFirstUse: true },
      "10.0.0.1",
      22,
      OTHER,
    );
    expect(decision.accept).toBe(false);
    expect(
      verifyHostKey({ knownHostsFile: file, trustOnFirstUse: false }, "10.0.0.1", 22, KEY),
    ).toEqual({
      accept: true,
      how: "known_hosts",
    });
  });

  it("refuses an unknown host unless trust on first use is on, then records its key", () => {
    const file = join(dir, "known_hosts_tofu");
    const off = verifyHostKey(
      { knownHostsFile: file, trustOnFirstUse: false },
      "10.0.0.5",
      2200,
      KEY,
    );
    expect(off.accept).toBe(false);
    expect(
      verifyHostKey({ knownHostsFile: file, trustOnFirstUse: true }, "10.0.0.5", 2200, KEY),
    ).toEqual({
      accept: true,
      how: "trusted_first_use",
    });
    expect(parseKnownHosts(readFileSync(file, "utf8"), "10.0.0.5", 2200).keys).toHaveLength(1);
    // Recorded: the next connection checks against it, and a changed key is refused.
    expect(
      verifyHostKey({ knownHostsFile: file, trustOnFirstUse: true }, "10.0.0.5", 2200, OTHER)
        .accept,
    ).toBe(false);
  });

  it("writes hashed known_hosts lines that OpenSSH's format matches", () => {
    const line = knownHostsLine("10.0.0.7", 22, KEY);
    expect(line).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    expect(parseKnownHosts(line, "10.0.0.7", 22).keys).toHaveLength(1);
  });
});
