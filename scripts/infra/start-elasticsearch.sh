#!/usr/bin/env bash
# Starts (or reuses) a single-node Elasticsearch on a free port of 127.0.0.1 (or on
# DEEPTRACE_ES_PORT), also bound to the SSH test hosts' bridge address when that bridge
# exists, and writes $DEEPTRACE_CACHE/run/elasticsearch.env (ES_URL, ES_PID, ES_PORT,
# ES_HTTP_HOSTS). With DEEPTRACE_ES_INSTANCE=<name>: a separate node, elasticsearch-<name>.env.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

take_lock "$ES_NAME"
conf_dir="$ES_NODE_DIR/config"
want_hosts="127.0.0.1"
if bridge_up; then
  want_hosts+=",$SSH_BRIDGE_IP"
fi

if [[ -f "$ES_STATE" ]]; then
  # shellcheck source=/dev/null
  recorded="$(source "$ES_STATE" && echo "$ES_PID $ES_URL $ES_HTTP_HOSTS")"
  read -r pid url hosts <<<"$recorded"
  if pid_matches "$pid" "$ES_HOME" && [[ "$hosts" == "$want_hosts" ]] &&
    [[ -z "${DEEPTRACE_ES_PORT:-}" || "$url" == *":$DEEPTRACE_ES_PORT" ]] &&
    curl -fsS --max-time 5 "$url/_cluster/health" >/dev/null 2>&1; then
    exit 0
  fi
  info "restarting Elasticsearch (recorded pid $pid, bound to $hosts, wanted $want_hosts)"
  stop_recorded "$ES_STATE" ES_PID "$ES_HOME" 60
fi

[[ -x "$ES_HOME/bin/elasticsearch" ]] ||
  die "Elasticsearch $ES_VERSION is not installed in $ES_HOME; run scripts/infra/install-all.sh"
id -u "$ES_USER" >/dev/null 2>&1 ||
  die "the system user $ES_USER does not exist; run scripts/infra/install-all.sh"
require_root "start-elasticsearch.sh" "runs Elasticsearch as the user $ES_USER"
require_cmd curl
require_cmd setfacl

java_home="${ES_JAVA_HOME:-}"
if [[ -z "$java_home" ]]; then
  require_cmd java
  java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
fi
[[ -x "$java_home/bin/java" ]] || die "ES_JAVA_HOME=$java_home has no bin/java"

mkdir -p "$ES_NODE_DIR"/{data,logs,tmp,run} "$conf_dir/jvm.options.d" "$DT_LOGS"
cp "$ES_HOME/config/jvm.options" "$ES_HOME/config/log4j2.properties" "$conf_dir/"
port="${DEEPTRACE_ES_PORT:-$(free_port)}"
cat >"$conf_dir/elasticsearch.yml" <<YML
# Written by scripts/infra/start-elasticsearch.sh on every start.
cluster.name: deeptrace-test
node.name: deeptrace-es${ES_INSTANCE:+-$ES_INSTANCE}
path.data: $ES_NODE_DIR/data
path.logs: $ES_NODE_DIR/logs
# One node that elects itself; this also skips the production bootstrap checks that
# binding a non-loopback address would otherwise enforce (vm.max_map_count etc.).
discovery.type: single-node
http.host: [${want_hosts}]
http.port: $port
transport.host: 127.0.0.1
xpack.security.enabled: false
# Test machines run with little free disk at times; never flip indices to read-only.
cluster.routing.allocation.disk.threshold_enabled: false
YML
heap="${DEEPTRACE_ES_HEAP:-1g}"
printf -- '-Xms%s\n-Xmx%s\n' "$heap" "$heap" >"$conf_dir/jvm.options.d/deeptrace.options"
chown -R "$ES_USER:$ES_USER" "$ES_NODE_DIR"

# The cache usually lives under root's 0700 home: let only the Elasticsearch user
# traverse (not list or read) the directories above its own.
dir="$DT_CACHE/elasticsearch"
while [[ "$dir" != / ]]; do
  if ! runuser -u "$ES_USER" -- test -x "$dir"; then
    setfacl -m "u:$ES_USER:x" "$dir" || die "could not let $ES_USER traverse $dir (setfacl failed)"
  fi
  dir="$(dirname "$dir")"
done

launch_log="$DT_LOGS/$ES_NAME-launch.log"
server_log="$ES_NODE_DIR/logs/deeptrace-test.log"
pid_file="$ES_NODE_DIR/run/elasticsearch.pid"
rm -f "$pid_file"
fail() {
  {
    echo "--- $launch_log"
    tail -n 20 "$launch_log" 2>/dev/null
    echo "--- $server_log"
    tail -n 40 "$server_log" 2>/dev/null
  } >&2
  die "$1"
}

info "starting Elasticsearch on port $port (hosts $want_hosts)"
# -d: the launcher returns once the node has started (or failed) and leaves it running.
if ! (cd "$ES_NODE_DIR" && runuser -u "$ES_USER" -- env -i PATH=/usr/bin:/bin \
  ES_JAVA_HOME="$java_home" ES_PATH_CONF="$conf_dir" ES_TMPDIR="$ES_NODE_DIR/tmp" \
  "$ES_HOME/bin/elasticsearch" -d -p "$pid_file" 9>&-) >"$launch_log" 2>&1; then
  fail "Elasticsearch $ES_VERSION failed to start"
fi
pid="$(cat "$pid_file" 2>/dev/null || true)"
pid_alive "$pid" || fail "Elasticsearch exited right after starting"

url="http://127.0.0.1:$port"
deadline=$((SECONDS + ${DEEPTRACE_ES_START_TIMEOUT:-120}))
until curl -fsS --max-time 10 "$url/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null 2>&1; do
  pid_alive "$pid" || fail "Elasticsearch (pid $pid) died while starting"
  if ((SECONDS >= deadline)); then
    stop_pid "$pid" 30
    fail "Elasticsearch did not reach yellow health at $url within ${DEEPTRACE_ES_START_TIMEOUT:-120}s"
  fi
  sleep 1
done

write_state "$ES_STATE" "ES_URL=$url" "ES_PID=$pid" "ES_PORT=$port" "ES_HTTP_HOSTS=$want_hosts"
