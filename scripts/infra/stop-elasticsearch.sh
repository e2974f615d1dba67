#!/usr/bin/env bash
# Stops the Elasticsearch started by start-elasticsearch.sh, if it runs. Data is kept.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

take_lock elasticsearch
stop_recorded "$ES_STATE" ES_PID "$ES_HOME" 60
