#!/usr/bin/env bash
# Stops every test server started by start-all.sh, and any further Elasticsearch node a
# test started (DEEPTRACE_ES_INSTANCE); downloads, data and keys stay cached.
set -euo pipefail
dir="$(dirname "$0")"
source "$dir/lib.sh"
bash "$dir/stop-nats.sh"
bash "$dir/stop-elasticsearch.sh"
for state in "$DT_RUN"/elasticsearch-*.env; do
  [[ -f "$state" ]] || continue
  instance="$(basename "$state" .env)"
  DEEPTRACE_ES_INSTANCE="${instance#elasticsearch-}" bash "$dir/stop-elasticsearch.sh"
done
bash "$dir/teardown-ssh-hosts.sh"
