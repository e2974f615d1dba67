#!/bin/sh
# Checks that this host can run the emulator: Node.js 20 or later, and the code parses.
set -eu
cd "$(dirname "$0")"
command -v node >/dev/null 2>&1 || { echo "node is not installed on this host" >&2; exit 3; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "node $major is too old; the emulator needs 20 or later" >&2; exit 3; }
for f in agent.mjs lib/*.mjs; do node --check "$f"; done
echo "agent emulator ready (node $(node --version))"
