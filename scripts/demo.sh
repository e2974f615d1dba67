#!/usr/bin/env bash
# The main job (npm run demo): installs what is missing, starts local Elasticsearch, NATS
# and the SSH test hosts, builds, then runs the whole pipeline on the bundled real spans
# (tools/demo). Pass --exit to stop everything after the report instead of on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== installing what is missing (Debian packages, Elasticsearch, grpcurl, npm packages)"
bash scripts/infra/install-all.sh
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npx tsc -b
echo "== starting Elasticsearch, NATS JetStream and the SSH test hosts"
bash scripts/infra/start-all.sh
exec node tools/demo/dist/demo.js "$@"
