#!/usr/bin/env bash
# The test command (npm test): installs what is missing (Debian packages, Elasticsearch,
# grpcurl, npm packages; each step is a no-op when already done), checks that the
# generated protobuf code matches proto/, builds, lints, then runs every test. The integration tests'
# global setup starts Elasticsearch, NATS and the SSH test hosts (or reuses running ones).
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/infra/install-all.sh
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
generated="$(mktemp -d)"
trap 'rm -rf "$generated"' EXIT
npx buf generate -o "$generated"
if ! diff -r "$generated/shared/src/gen" shared/src/gen >&2; then
  echo "shared/src/gen is stale: run npm run generate and commit the result" >&2
  exit 1
fi
npx tsc -b
npm run lint
# Besides vitest's own summary, one plain "vitest: N passed, N failed" line for CI.
report="$(mktemp)"
trap 'rm -rf "$generated" "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$report" || true
exit "$status"
