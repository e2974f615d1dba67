# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Shared by the scripts in scripts/infra: paths, pinned versions and small helpers.
# Sourced, never executed. Every script stays quiet on success and says exactly what
# failed otherwise (set DEEPTRACE_INFRA_VERBOSE=1 to see progress).

DT_CACHE="${DEEPTRACE_CACHE:-$HOME/.cache/deeptrace}"
DT_RUN="$DT_CACHE/run"
DT_LOGS="$DT_CACHE/log"
DT_BIN="$DT_CACHE/bin"
DT_DOWNLOADS="$DT_CACHE/downloads"
DT_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

ES_VERSION="8.19.7"
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
# Maven Central publishes no checksum files for this zip, so Maven cannot verify it: we do.
ES_ZIP_SHA256="cb7f86fb6e68e85ef6f531ae5c68458ecfe42371150403b22b2ed21381581cbb"
ES_USER="deeptrace-es"
ES_HOME="$DT_CACHE/elasticsearch/dist/elasticsearch-$ES_VERSION"
# DEEPTRACE_ES_INSTANCE=<name> selects a further, independent node (its own data, state
# file and lock): a test that stops and restarts Elasticsearch does it to its own node
# while other tests keep using the shared one.
ES_INSTANCE="${DEEPTRACE_ES_INSTANCE:-}"
[[ "$ES_INSTANCE" =~ ^[a-z0-9-]*$ ]] || {
  echo "DEEPTRACE_ES_INSTANCE must be lower-case letters, digits and '-', not '$ES_INSTANCE'" >&2
  exit 1
}
ES_NAME="elasticsearch${ES_INSTANCE:+-$ES_INSTANCE}"
ES_NODE_DIR="$DT_CACHE/elasticsearch/node${ES_INSTANCE:+-$ES_INSTANCE}"
ES_STATE="$DT_RUN/$ES_NAME.env"

NATS_DIR="$DT_CACHE/nats"
NATS_STATE="$DT_RUN/nats.env"
# Windows of spans can be large: the span-poller sizes them to stay under this limit.
NATS_MAX_PAYLOAD=$((8 * 1024 * 1024))

GRPCURL_MODULE="github.com/fullstorydev/grpcurl"
GRPCURL_VERSION="v1.9.4"

# SSH test hosts: network namespaces on a private bridge, or loopback aliases.
SSH_DIR="$DT_CACHE/ssh"
SSH_STATE_JSON="$DT_RUN/ssh-hosts.json"
SSH_USER="dtagent"
SSH_BRIDGE="dt-br0"
SSH_NET_PREFIX="10.77.0"
SSH_BRIDGE_IP="$SSH_NET_PREFIX.1"
SSH_LOOPBACK_PREFIX="127.0.77"
SSH_HOST_COUNT="${DEEPTRACE_SSH_HOST_COUNT:-3}"
# Names, addresses and the user are machine-wide, so one cache at a time owns the hosts;
# this file (gone at reboot, like the namespaces) names it.
SSH_OWNER_FILE="/run/deeptrace-ssh-hosts.owner"

APT_PACKAGES=(nats-server openssh-server iproute2 sudo git procps curl unzip acl util-linux jq)

die() {
  printf 'deeptrace infra: ERROR: %s\n' "$*" >&2
  exit 1
}

info() {
  if [[ "${DEEPTRACE_INFRA_VERBOSE:-}" == 1 ]]; then
    printf 'deeptrace infra: %s\n' "$*" >&2
  fi
  return 0
}

require_root() {
  [[ "$(id -u)" == 0 ]] || die "$1 must run as root (it $2); run it with sudo or as root"
}

require_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; run scripts/infra/install-all.sh as root"
}

# Serialises concurrent runs of one script (e.g. two test runs starting at once). A script
# run by one that already holds the same lock inherits it (fd 9) and goes on. Servers we
# start must not inherit fd 9 (start them with 9>&-), or they would hold the lock.
take_lock() {
  [[ "${DT_HELD_LOCK:-}" == "$1" ]] && return 0
  mkdir -p "$DT_RUN"
  exec 9>"$DT_RUN/$1.lock"
  flock -w 300 9 || die "timed out waiting for the lock $DT_RUN/$1.lock held by another infra script"
  export DT_HELD_LOCK="$1"
}

pid_alive() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null
}

# True when pid $1 is alive and its command line contains $2 (a path only our process
# has), so a recycled pid never counts as our server and is never signalled.
pid_matches() {
  pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# True when a TCP listener accepts a connection at host:port (optionally from inside a netns).
tcp_open() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # $0 and $1 expand in the inner shell
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# Prints the first line a TCP server sends on connect (SSH and NATS greet first).
tcp_greeting() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # $0 and $1 expand in the inner shell
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -n 1 <&3' "$host" "$port" 2>/dev/null || true
}

# A TCP port with no listener on any address, outside the kernel's ephemeral range.
free_port() {
  local port attempt
  for attempt in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    if [[ -z "$(ss -Hltn "sport = :$port")" ]]; then
      echo "$port"
      return 0
    fi
  done
  die "found no free TCP port in 20000-31999 after $attempt attempts"
}

# Writes KEY=VALUE pairs atomically. Values are plain words (URLs, ports, pids, address
# lists), so the file is both sourceable and trivially parsed by the test setup.
write_state() {
  local file="$1" pair tmp
  shift
  mkdir -p "$(dirname "$file")"
  tmp="$(mktemp "$file.XXXXXX")"
  for pair in "$@"; do
    [[ "${pair#*=}" =~ ^[A-Za-z0-9._:/,@+-]*$ ]] || die "refusing to write a state value that needs quoting: $pair"
    printf '%s\n' "$pair" >>"$tmp"
  done
  mv -f "$tmp" "$file"
}

# Sends TERM, waits up to $2 seconds, then KILL. Only for pids this project started.
stop_pid() {
  local pid="$1" wait_s="$2" i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  die "process $pid did not exit after SIGKILL"
}

# Stops the server recorded in a sourceable state file (variable $2 holds its pid, $3 is
# its pid_matches marker), waiting up to $4 seconds, and removes the state file.
stop_recorded() {
  local state="$1" pid_var="$2" marker="$3" wait_s="$4" pid
  [[ -f "$state" ]] || return 0
  # shellcheck source=/dev/null
  pid="$(source "$state" && echo "${!pid_var:-}")"
  if pid_matches "$pid" "$marker"; then
    stop_pid "$pid" "$wait_s"
  fi
  rm -f "$state"
}

# True when the bridge for the SSH test hosts exists and has its address.
bridge_up() {
  ip -4 -o addr show dev "$SSH_BRIDGE" 2>/dev/null | grep -qF " $SSH_BRIDGE_IP/"
}
