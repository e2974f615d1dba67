#!/usr/bin/env bash
# Stops every test server started by start-all.sh; downloads, data and keys stay cached.
set -euo pipefail
dir="$(dirname "$0")"
bash "$dir/stop-nats.sh"
bash "$dir/stop-elasticsearch.sh"
bash "$dir/teardown-ssh-hosts.sh"
