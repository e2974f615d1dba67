#!/usr/bin/env bash
# Stops the nats-server started by start-nats.sh, if it runs. The JetStream store is kept.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

take_lock nats
stop_recorded "$NATS_STATE" NATS_PID "$NATS_DIR/nats.conf" 30
