import { createHash, createHmac, randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/** OpenSSH fingerprint of a public key blob: "SHA256:" + unpadded base64 of its SHA-256. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** Fingerprints compare without the base64 padding some tools print. */
export function sameFingerprint(a: string, b: string): boolean {
  return a.replace(/=+$/, "") === b.replace(/=+$/, "");
}

/** The known_hosts name of a host: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownHostKey {
  keyType: string;
  keyBlob: Buffer;
}

/** The key type stored at the start of an SSH public key blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString("ascii");
}

function hostPatternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  return pattern.split(",").some((p) => p === name);
}

/**
 * Keys known for a host in OpenSSH known_hosts text: plain and hashed (`|1|salt|hash`) host
 * fields; `@revoked` lines mark a key as refused, `@cert-authority` lines are ignored.
 */
export function parseKnownHosts(
  text: string,
  host: string,
  port: number,
): { keys: KnownHostKey[]; revoked: KnownHostKey[] } {
  const name = knownHostsName(host, port);
  const keys: KnownHostKey[] = [];
  const revoked: KnownHostKey[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith("@")) marker = fields.shift();
    const [hosts, keyType, base64] = fields;
    if (!hosts || !keyType || !base64) continue;
    if (!hostPatternMatches(hosts, name)) continue;
    const entry = { keyType, keyBlob: Buffer.from(base64, "base64") };
    if (marker === "@revoked") revoked.push(entry);
    else if (marker === undefined) keys.push(entry);
  }
  return { keys, revoked };
}

/** A hashed known_hosts line for a key accepted on first use. */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  const salt = randomBytes(20);
  const hash = createHmac("sha1", salt).update(knownHostsName(host, port)).digest("base64");
  return `|1|${salt.toString("base64")}|${hash} ${keyTypeOf(keyBlob)} ${keyBlob.toString("base64")}\n`;
}

export type HostKeyDecision =
  | { accept: true; how: "pinned" | "known_hosts" | "trusted_first_use" }
  | { accept: false; reason: string };

export interface HostKeyPolicy {
  pinnedFingerprint?: string | undefined;
  knownHostsFile?: string | undefined;
  trustOnFirstUse: boolean;
}

/**
 * Decides whether a presented host key is the host's: a pinned fingerprint wins; otherwise
 * the known_hosts file; a host in neither is accepted only with trust on first use, and its
 * key is then appended to the known_hosts file so the next connection checks it.
 */
export function verifyHostKey(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  keyBlob: Buffer,
): HostKeyDecision {
  const presented = fingerprintOf(keyBlob);
  if (policy.pinnedFingerprint) {
    return sameFingerprint(policy.pinnedFingerprint, presented)
      ? { accept: true, how: "pinned" }
      : {
          accept: false,
          reason: `host key mismatch: ${host}:${port} presented ${presented}, pinned ${policy.pinnedFingerprint}`,
        };
  }
  const file = policy.knownHostsFile;
  const text = file && existsSync(file) ? readFileSync(file, "utf8") : "";
  const { keys, revoked } = parseKnownHosts(text, host, port);
  if (revoked.some((k) => k.keyBlob.equals(keyBlob))) {
    return {
      accept: false,
      reason: `host key ${presented} of ${host}:${port} is revoked in ${file}`,
    };
  }
  if (keys.some((k) => k.keyBlob.equals(keyBlob))) return { accept: true, how: "known_hosts" };
  if (keys.length > 0) {
    return {
      accept: false,
      reason: `host key mismatch: ${host}:${port} presented ${presented}, which is not the key recorded in ${file}`,
    };
  }
  if (policy.trustOnFirstUse && file) {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, knownHostsLine(host, port, keyBlob), { mode: 0o600 });
    return { accept: true, how: "trusted_first_use" };
  }
  return {
    accept: false,
    reason: `unknown host key ${presented} for ${host}:${port}: no pinned fingerprint, no entry in ${file ?? "a known_hosts file (none configured)"}, and trust on first use is off`,
  };
}

/** ssh2 host key algorithms matching the key types recorded for a host, so it offers one of those. */
export function hostKeyAlgorithmsFor(keyTypes: string[]): string[] {
  const out: string[] = [];
  for (const type of keyTypes) {
    if (type === "ssh-rsa") out.push("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa");
    else out.push(type);
  }
  return [...new Set(out)];
}
