import { execFileSync } from "node:child_process";

/** uid and gid of a local user (the SSH test hosts share this machine's users). */
export function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, user], { encoding: "utf8" }));
  return { uid: id("-u"), gid: id("-g") };
}

/** Home directory of a local user, where agents deployed as that user are installed. */
export function homeOf(user: string): string {
  return execFileSync("getent", ["passwd", user], { encoding: "utf8" }).split(":")[5] ?? "";
}
