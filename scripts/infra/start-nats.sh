#!/usr/bin/env bash
# Starts (or reuses) nats-server with JetStream (store in the cache, 8 MiB max_payload) on
# a free port and writes $DEEPTRACE_CACHE/run/nats.env (NATS_URL, NATS_PID, NATS_PORT,
# NATS_LISTEN, NATS_MONITOR_URL). It listens on 127.0.0.1 alone, or, when the SSH test
# hosts' bridge exists, on all addresses so the hosts reach it at the bridge address too
# (nats-server has a single client listener).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

take_lock nats
conf="$NATS_DIR/nats.conf"
want_listen="127.0.0.1"
if bridge_up; then
  want_listen="0.0.0.0"
fi

if [[ -f "$NATS_STATE" ]]; then
  # shellcheck source=/dev/null disable=SC2153
  recorded="$(source "$NATS_STATE" && echo "$NATS_PID $NATS_PORT $NATS_LISTEN")"
  read -r pid port listen <<<"$recorded"
  if pid_matches "$pid" "$conf" && [[ "$listen" == "$want_listen" ]] &&
    [[ "$(tcp_greeting 127.0.0.1 "$port")" == INFO* ]]; then
    exit 0
  fi
  info "restarting nats-server (recorded pid $pid listening on $listen, wanted $want_listen)"
  stop_recorded "$NATS_STATE" NATS_PID "$conf" 30
fi

command -v nats-server >/dev/null 2>&1 ||
  die "nats-server is not installed; run scripts/infra/install-all.sh as root"
mkdir -p "$NATS_DIR/jetstream" "$DT_LOGS"
port="$(free_port)"
monitor_port="$(free_port)"
log="$DT_LOGS/nats-server.log"
cat >"$conf" <<CONF
# Written by scripts/infra/start-nats.sh on every start.
listen: "$want_listen:$port"
http: "127.0.0.1:$monitor_port"
max_payload: $NATS_MAX_PAYLOAD
jetstream {
  store_dir: "$NATS_DIR/jetstream"
  max_memory_store: 268435456
  max_file_store: 4294967296
}
CONF
nats-server -c "$conf" -t >"$log" 2>&1 || {
  cat "$log" >&2
  die "nats-server rejected its configuration $conf"
}

info "starting nats-server on port $port (listen $want_listen)"
# fd 9 is our lock: the server must not inherit (and hold) it.
setsid nats-server -c "$conf" -l "$log" </dev/null >/dev/null 2>&1 9>&- &
pid=$!
deadline=$((SECONDS + 30))
until curl -fsS --max-time 2 "http://127.0.0.1:$monitor_port/healthz?js-enabled-only=true" >/dev/null 2>&1; do
  if ! pid_alive "$pid" || ((SECONDS >= deadline)); then
    stop_pid "$pid" 5
    tail -n 30 "$log" >&2
    die "nats-server did not become healthy with JetStream on 127.0.0.1:$port within 30s (log: $log)"
  fi
  sleep 0.2
done

write_state "$NATS_STATE" "NATS_URL=nats://127.0.0.1:$port" "NATS_PID=$pid" "NATS_PORT=$port" \
  "NATS_LISTEN=$want_listen" "NATS_MONITOR_URL=http://127.0.0.1:$monitor_port"
