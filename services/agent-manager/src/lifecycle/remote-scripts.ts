import { posix } from "node:path";
import type { AgentSourceSpec } from "../inventory/agent-record.js";
import { shellQuote as q } from "../ssh/shell-quote.js";

/**
 * The shell scripts of each lifecycle step. Every value from the inventory is quoted, and
 * each script is idempotent: running it twice leaves the host as running it once does.
 */

/** Clone at the pinned ref, or move an existing checkout to it (fetching only when needed). */
export function cloneScript(source: AgentSourceSpec): string {
  const dir = q(source.installDir);
  const ref = source.ref;
  return [
    "set -e",
    `command -v git >/dev/null 2>&1 || { echo "git is not installed on this host" >&2; exit 3; }`,
    `if [ -d ${dir}/.git ]; then`,
    `  git -C ${dir} remote set-url origin ${q(source.repositoryUrl)}`,
    `  git -C ${dir} cat-file -e ${q(`${ref}^{commit}`)} 2>/dev/null || git -C ${dir} fetch --quiet --tags origin`,
    `elif [ -e ${dir} ]; then`,
    `  echo ${q(`${source.installDir} exists and is not a git checkout; refusing to overwrite it`)} >&2; exit 4`,
    "else",
    `  mkdir -p ${q(posix.dirname(source.installDir))}`,
    `  git clone --quiet --no-checkout ${q(source.repositoryUrl)} ${dir}`,
    "fi",
    `commit=$(git -C ${dir} rev-parse --verify --quiet ${q(`origin/${ref}^{commit}`)} || git -C ${dir} rev-parse --verify ${q(`${ref}^{commit}`)})`,
    `git -C ${dir} -c advice.detachedHead=false checkout --quiet --force --detach "$commit"`,
    `echo "checked out $commit"`,
  ].join("\n");
}

/** Runs one of the repository's scripts from the install directory. */
export function repoScript(installDir: string, script: string, ...args: string[]): string {
  return [
    "set -e",
    `cd ${q(installDir)}`,
    `[ -f ${q(script)} ] || { echo ${q(`${script} is missing from ${installDir}`)} >&2; exit 5; }`,
    `sh ${q(`./${script}`)}${args.map((a) => ` ${q(a)}`).join("")}`,
  ].join("\n");
}

/** Stops the agent if it is installed; succeeds when there is nothing to stop. */
export function stopScript(installDir: string, script: string): string {
  return [
    `if [ -f ${q(posix.join(installDir, script))} ]; then`,
    `  cd ${q(installDir)} && sh ${q(`./${script}`)}`,
    "fi",
  ].join("\n");
}

export function removeScript(installDir: string): string {
  return `rm -rf -- ${q(installDir)}`;
}

export function mkdirScript(dir: string): string {
  return `mkdir -p -- ${q(dir)}`;
}
