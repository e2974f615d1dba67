import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** One SSH test host as scripts/infra/setup-ssh-hosts.sh describes it. */
export interface DemoHost {
  name: string;
  ip: string;
  port: number;
  hostKeyFingerprint: string;
  user: string;
  privateKeyPath: string;
}

/** Where the local servers started by scripts/infra run. */
export interface DemoEnvironment {
  cacheDir: string;
  esUrl: string;
  natsUrl: string;
  /** Address at which the SSH hosts reach this machine. */
  gateway: string;
  hosts: DemoHost[];
  grpcurl: string;
}

function stateValue(file: string, key: string): string {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`${key} is missing from ${file}: run scripts/infra/start-all.sh`);
  return line.slice(key.length + 1);
}

/** Reads the state files of the servers scripts/infra/start-all.sh started. */
export function demoEnvironment(): DemoEnvironment {
  const cacheDir = process.env.DEEPTRACE_CACHE ?? join(homedir(), ".cache", "deeptrace");
  const run = join(cacheDir, "run");
  try {
    const ssh = JSON.parse(readFileSync(join(run, "ssh-hosts.json"), "utf8")) as {
      gateway: string;
      hosts: DemoHost[];
    };
    return {
      cacheDir,
      esUrl: stateValue(join(run, "elasticsearch.env"), "ES_URL"),
      natsUrl: stateValue(join(run, "nats.env"), "NATS_URL"),
      gateway: ssh.gateway,
      hosts: ssh.hosts,
      grpcurl: join(cacheDir, "bin", "grpcurl"),
    };
  } catch (error) {
    throw new Error(
      `the local servers are not running (${(error as Error).message}); start them with scripts/infra/start-all.sh`,
    );
  }
}
