/**
 * What the integration global setup hands to tests through vitest's `provide`/`inject`.
 * Tests read it through the accessors in `test/support/infrastructure.ts`.
 */

/** One SSH test host, as `scripts/infra/setup-ssh-hosts.sh` describes it in ssh-hosts.json. */
export interface SshHost {
  /** dt-host1, dt-host2, ... */
  name: string;
  /** The host's own address: 10.77.0.1N (namespaces) or 127.0.77.1N (loopback fallback). */
  ip: string;
  port: number;
  /** The sshd host key's fingerprint as `ssh-keygen -lf` prints it: `SHA256:<base64>`. */
  hostKeyFingerprint: string;
  /** A known_hosts file with every test host's key. */
  knownHostsPath: string;
  user: string;
  /** Unencrypted ed25519 client key authorised for `user`. */
  privateKeyPath: string;
  /** 0600 file holding the user's password (no trailing newline); never print it. */
  passwordFile: string;
  /** The host's network namespace (null in loopback mode). */
  netns: string | null;
  /** The bridge side of the host's veth pair, to cut the host off (null in loopback mode). */
  link: string | null;
  /**
   * How far the host's monotonic clock is ahead of this machine's, in ns (decimal string):
   * hosts run in time namespaces so their clock offsets differ like real hosts' do.
   */
  clockShiftNs: string;
}

export interface SshHosts {
  mode: "netns" | "loopback";
  /** The address at which the hosts reach servers of this machine (ES, NATS). */
  gateway: string;
  hosts: SshHost[];
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Elasticsearch base URL on loopback, e.g. http://127.0.0.1:20462 (env ES_URL). */
    esUrl: string;
    /** NATS server URL with JetStream, e.g. nats://127.0.0.1:25816 (env NATS_URL). */
    natsUrl: string;
    /** The content of ssh-hosts.json (its path is in env DEEPTRACE_SSH_HOSTS). */
    sshHosts: SshHosts;
    /** Path of the grpcurl binary (env GRPCURL). */
    grpcurlPath: string;
  }
}
