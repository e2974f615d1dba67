#!/usr/bin/env bash
# Starts (or reuses) every test server: the SSH test hosts first, so Elasticsearch and
# NATS also listen on the bridge address the hosts reach them at.
set -euo pipefail
dir="$(dirname "$0")"
bash "$dir/setup-ssh-hosts.sh"
bash "$dir/start-elasticsearch.sh"
bash "$dir/start-nats.sh"
