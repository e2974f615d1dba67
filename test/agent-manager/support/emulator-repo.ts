import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const emulatorDir = fileURLToPath(new URL("../../../tools/agent-emulator/", import.meta.url));

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
  }
}

/**
 * Publishes tools/agent-emulator as a bare git repository under `dir` (its own repository,
 * one commit), owned by the SSH user so the hosts can clone it. Returns its path and the
 * pinned commit.
 */
export function publishEmulator(
  dir: string,
  owner: { uid: number; gid: number },
): { url: string; commit: string } {
  const url = join(dir, "agent-emulator.git");
  const commit = execFileSync("sh", [join(emulatorDir, "publish-repo.sh"), url], {
    encoding: "utf8",
  }).trim();
  chmodSync(dir, 0o755);
  chownTree(url, owner.uid, owner.gid);
  return { url, commit };
}
