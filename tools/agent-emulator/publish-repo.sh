#!/bin/sh
# Publishes the emulator as its own git repository: a bare repository at DEST holding one
# commit of this directory (fixed author and date, so the same content gives the same
# commit). Prints the commit id, the ref to pin in [agent_manager.agent_defaults.source].
# usage: publish-repo.sh DEST.git
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DEST.git" >&2; exit 2; }
src=$(cd "$(dirname "$0")" && pwd)
dest=$1
[ ! -e "$dest" ] || { echo "$dest exists" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib"
cp "$src/agent.mjs" "$src/install.sh" "$src/run.sh" "$src/stop.sh" "$src/README.md" "$src/.gitignore" "$work/"
cp "$src"/lib/*.mjs "$work/lib/"
export GIT_AUTHOR_NAME="DeepTrace" GIT_AUTHOR_EMAIL="deeptrace@localhost" \
  GIT_COMMITTER_NAME="DeepTrace" GIT_COMMITTER_EMAIL="deeptrace@localhost" \
  GIT_AUTHOR_DATE="2025-01-01T00:00:00Z" GIT_COMMITTER_DATE="2025-01-01T00:00:00Z"
git -C "$work" init -q -b main
git -C "$work" add -A
git -C "$work" commit -q -m "agent emulator"
git clone -q --bare "$work" "$dest"
git -C "$dest" rev-parse HEAD
