import { posix } from "node:path";
import { shellQuote as q } from "../ssh/shell-quote.js";

/** What one SSH round trip tells about the agent on its host. */
export interface HostFacts {
  installed: boolean;
  processAlive: boolean;
  /** Host wall clock minus its CLOCK_MONOTONIC, read on the host in one process. */
  clockOffsetNs?: bigint | undefined;
  clockSource?: string | undefined;
}

const PYTHON_CLOCK =
  "import time; a=time.monotonic_ns(); w=time.time_ns(); b=time.monotonic_ns(); print('clock', w, (a+b)//2)";
// Node's hrtime is CLOCK_MONOTONIC; timeOrigin + now() is the wall clock with sub-microsecond digits.
const NODE_CLOCK =
  "const a=process.hrtime.bigint();const w=BigInt(Math.round((performance.timeOrigin+performance.now())*1e6));const b=process.hrtime.bigint();console.log('clock',String(w),String((a+b)/2n))";

/**
 * A script printing `installed yes|no`, `alive yes|no` and `clock <wall_ns> <monotonic_ns>`
 * (python3, else node). The pid file is checked with /proc, which also sees an agent that
 * runs as root when the SSH user does not.
 */
export function hostProbeScript(installDir: string, pidFile: string): string {
  const pid = q(posix.join(installDir, pidFile));
  return [
    `if [ -d ${q(installDir)} ]; then echo "installed yes"; else echo "installed no"; fi`,
    `pid=$(cat ${pid} 2>/dev/null || true)`,
    `case "$pid" in ''|*[!0-9]*) echo "alive no" ;; *) if [ -d "/proc/$pid" ]; then echo "alive yes"; else echo "alive no"; fi ;; esac`,
    "if command -v python3 >/dev/null 2>&1; then",
    `  python3 -c ${q(PYTHON_CLOCK)} && echo "clock-source python3"`,
    "elif command -v node >/dev/null 2>&1; then",
    `  node -e ${q(NODE_CLOCK)} && echo "clock-source node"`,
    "fi",
    "exit 0",
  ].join("\n");
}

export function parseHostFacts(stdout: string): HostFacts {
  const facts: HostFacts = { installed: false, processAlive: false };
  for (const line of stdout.split("\n")) {
    const [word, a, b] = line.trim().split(/\s+/);
    if (word === "installed") facts.installed = a === "yes";
    else if (word === "alive") facts.processAlive = a === "yes";
    else if (word === "clock" && a && b && /^\d+$/.test(a) && /^\d+$/.test(b)) {
      facts.clockOffsetNs = BigInt(a) - BigInt(b);
    } else if (word === "clock-source") facts.clockSource = a;
  }
  return facts;
}
