#!/usr/bin/env bash
# Stops the Elasticsearch started by start-elasticsearch.sh (the node DEEPTRACE_ES_INSTANCE
# names, if set), if it runs. Data is kept.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

take_lock "$ES_NAME"
stop_recorded "$ES_STATE" ES_PID "$ES_HOME" 60
