#!/usr/bin/env bash
# Everything that needs root or the network: Debian packages, the Elasticsearch
# distribution and grpcurl. Idempotent; the start scripts then need no network.
set -euo pipefail
dir="$(dirname "$0")"
bash "$dir/install-packages.sh"
bash "$dir/install-elasticsearch.sh"
bash "$dir/install-grpcurl.sh"
