#!/usr/bin/env bash
# Sets up (or reuses) the SSH test hosts the agent-manager deploys to and writes
# $DEEPTRACE_CACHE/run/ssh-hosts.json.
#
# Each host dt-hostN is a network namespace with its own address 10.77.0.1N on the bridge
# dt-br0 (10.77.0.1, where the hosts reach Elasticsearch and NATS), running its own sshd
# with its own host key on port 22. Where namespaces cannot be created, or with
# DEEPTRACE_SSH_MODE=loopback, each host is an sshd bound to 127.0.77.1N instead (port
# DEEPTRACE_SSH_LOOPBACK_PORT, default 22) and reaches the services at 127.0.0.1.
#
# Real hosts booted at different times, so their monotonic clocks (the clock the agents
# stamp spans with) differ: host N's sshd, and so everything started over SSH there, runs
# in its own time namespace whose monotonic and boot-time clocks are shifted by
# host_clock_shift N seconds (host 1 by none). Where time namespaces are unavailable every
# shift is 0; ssh-hosts.json records the shift in effect (clockShiftNs).
#
# All hosts share this machine's filesystem and users: the user dtagent logs in with the
# ed25519 key $DEEPTRACE_CACHE/ssh/id_ed25519 or with the password in the 0600 file
# $DEEPTRACE_CACHE/ssh/dtagent.password, and may use sudo with that password only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

take_lock ssh-hosts
require_root "setup-ssh-hosts.sh" "creates network namespaces, the user $SSH_USER and sshd daemons"
for cmd in ip ssh-keygen chpasswd useradd visudo jq; do
  require_cmd "$cmd"
done
[[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd is missing (package openssh-server); run scripts/infra/install-all.sh"
[[ -d /etc/sudoers.d ]] || die "sudo is not installed; run scripts/infra/install-all.sh"

owner="$(cat "$SSH_OWNER_FILE" 2>/dev/null || true)"
if [[ -n "$owner" && "$owner" != "$DT_CACHE" ]]; then
  if [[ -f "$owner/run/ssh-hosts.json" ]]; then
    die "the SSH test hosts on this machine belong to DEEPTRACE_CACHE=$owner (they share names, addresses and the user $SSH_USER); run DEEPTRACE_CACHE=$owner scripts/infra/teardown-ssh-hosts.sh first"
  fi
  info "taking over the SSH test hosts left behind by DEEPTRACE_CACHE=$owner"
  rm -f "$SSH_OWNER_FILE"
  bash "$DT_INFRA_DIR/teardown-ssh-hosts.sh"
fi

mode="${DEEPTRACE_SSH_MODE:-auto}"
if [[ "$mode" == auto ]]; then
  probe="dt-probe-$$"
  if ip netns add "$probe" 2>/dev/null; then
    ip netns del "$probe"
    mode=netns
  else
    mode=loopback
  fi
fi
[[ "$mode" == netns || "$mode" == loopback ]] ||
  die "DEEPTRACE_SSH_MODE must be netns, loopback or auto, not '$mode'"

if [[ -f "$SSH_STATE_JSON" ]] && [[ "$(jq -r .mode "$SSH_STATE_JSON")" != "$mode" ]]; then
  info "switching the SSH test hosts to $mode mode"
  bash "$DT_INFRA_DIR/teardown-ssh-hosts.sh"
fi

mkdir -p "$SSH_DIR/hosts" "$DT_RUN" "$DT_LOGS"
chmod 700 "$SSH_DIR"

# --- the test user, its credentials and sudo ------------------------------------------
if ! id -u "$SSH_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$SSH_USER" || die "could not create the user $SSH_USER"
fi
user_home="$(getent passwd "$SSH_USER" | cut -d: -f6)"
[[ -d "$user_home" ]] || die "the home directory $user_home of $SSH_USER does not exist"

password_file="$SSH_DIR/$SSH_USER.password"
if [[ ! -s "$password_file" ]]; then
  # Quotes, a command substitution, a semicolon and spaces: whatever passes this password
  # through a shell by mistake breaks, so tests notice. The suffix keeps it unguessable.
  (umask 077 && printf "it's \$(not) a; pass word %s" "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" \
    >"$password_file")
fi
chmod 600 "$password_file"
{ printf '%s:' "$SSH_USER" && cat "$password_file" && echo; } | chpasswd ||
  die "could not set the password of $SSH_USER (chpasswd failed)"

client_key="$SSH_DIR/id_ed25519"
if [[ ! -s "$client_key" ]]; then
  ssh-keygen -q -t ed25519 -N '' -C "$SSH_USER@deeptrace-test" -f "$client_key" ||
    die "could not generate the client key $client_key"
fi
install -d -m 700 -o "$SSH_USER" -g "$SSH_USER" "$user_home/.ssh"
install -m 600 -o "$SSH_USER" -g "$SSH_USER" "$client_key.pub" "$user_home/.ssh/authorized_keys"

sudoers=/etc/sudoers.d/deeptrace-dtagent
sudoers_tmp="$(mktemp)"
cat >"$sudoers_tmp" <<SUDO
# Written by deeptrace scripts/infra/setup-ssh-hosts.sh: the SSH test user may use sudo,
# always with its password (never cached), which callers feed through sudo -S.
Defaults:$SSH_USER !lecture, timestamp_timeout=0, passwd_tries=1
$SSH_USER ALL=(ALL:ALL) ALL
SUDO
visudo -qcf "$sudoers_tmp" >/dev/null || die "the generated sudoers drop-in is invalid: $sudoers_tmp"
install -m 440 -o root -g root "$sudoers_tmp" "$sudoers"
rm -f "$sudoers_tmp"

# --- network --------------------------------------------------------------------------
host_ip() {
  if [[ "$mode" == netns ]]; then
    echo "$SSH_NET_PREFIX.$((10 + $1))"
  else
    echo "$SSH_LOOPBACK_PREFIX.$((10 + $1))"
  fi
}

sshd_pid_file() { echo "$DT_RUN/sshd-dt-host$1.pid"; }
sshd_config() { echo "$SSH_DIR/hosts/dt-host$1/sshd_config"; }

stop_sshd() {
  local pid
  pid="$(cat "$(sshd_pid_file "$1")" 2>/dev/null || true)"
  if pid_matches "$pid" "$(sshd_config "$1")"; then
    stop_pid "$pid" 10
  fi
  rm -f "$(sshd_pid_file "$1")"
}

if [[ "$mode" == netns ]]; then
  if ip route show "$SSH_NET_PREFIX.0/24" | grep -qv "dev $SSH_BRIDGE"; then
    die "$SSH_NET_PREFIX.0/24 is already routed elsewhere ($(ip route show "$SSH_NET_PREFIX.0/24")); the SSH test hosts need it"
  fi
  if ! ip link show "$SSH_BRIDGE" >/dev/null 2>&1; then
    ip link add "$SSH_BRIDGE" type bridge ||
      die "could not create the bridge $SSH_BRIDGE (no CAP_NET_ADMIN? try DEEPTRACE_SSH_MODE=loopback)"
  fi
  bridge_up || ip addr add "$SSH_BRIDGE_IP/24" dev "$SSH_BRIDGE"
  ip link set "$SSH_BRIDGE" up

  for i in $(seq 1 "$SSH_HOST_COUNT"); do
    ns="dt-host$i" link="dt-h$i" ip_addr="$(host_ip "$i")"
    if ip netns exec "$ns" true 2>/dev/null &&
      ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | grep -qF " $ip_addr/" &&
      ip -o link show "$link" 2>/dev/null | grep -qF "master $SSH_BRIDGE" &&
      ip -o link show "$link" | grep -q "state UP"; then
      continue
    fi
    info "creating the network namespace $ns ($ip_addr)"
    stop_sshd "$i"
    ip netns del "$ns" 2>/dev/null || true
    ip link del "$link" 2>/dev/null || true
    ip netns add "$ns" || die "could not create the network namespace $ns (try DEEPTRACE_SSH_MODE=loopback)"
    ip link add "$link" type veth peer name eth0 netns "$ns" || die "could not create the veth pair $link/$ns:eth0"
    ip link set "$link" master "$SSH_BRIDGE" up
    ip -n "$ns" addr add "$ip_addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
  gateway="$SSH_BRIDGE_IP"
  port=22
else
  gateway="127.0.0.1"
  port="${DEEPTRACE_SSH_LOOPBACK_PORT:-22}"
fi

# --- clocks ---------------------------------------------------------------------------
# Host 1 keeps this machine's clock; host 2 "booted" about 2 days earlier, host 3 about 8
# (odd seconds, so no two offsets are a round number apart).
host_clock_shift() {
  echo $((($1 - 1) * ($1 - 1) * 172800 + ($1 - 1) * 1234))
}
time_namespaces=false
if unshare --time --monotonic 1 --boottime 1 true 2>/dev/null; then
  time_namespaces=true
else
  info "time namespaces are unavailable: every test host keeps this machine's monotonic clock"
fi

# --- one sshd per host ----------------------------------------------------------------
install -d -m 0755 /run/sshd # sshd's privilege separation directory
known_hosts="$SSH_DIR/known_hosts"
known_tmp="$(mktemp "$known_hosts.XXXXXX")"
hosts_json="[]"
for i in $(seq 1 "$SSH_HOST_COUNT"); do
  name="dt-host$i" ip_addr="$(host_ip "$i")" dir="$SSH_DIR/hosts/dt-host$i"
  config="$(sshd_config "$i")" pid_file="$(sshd_pid_file "$i")" log="$DT_LOGS/sshd-$name.log"
  mkdir -p "$dir"
  shift_s=0
  [[ "$time_namespaces" == true ]] && shift_s="$(host_clock_shift "$i")"
  host_key="$dir/ssh_host_ed25519_key"
  if [[ ! -s "$host_key" ]]; then
    ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$host_key" || die "could not generate the host key of $name"
  fi
  cat >"$config.new" <<CONF
# Written by deeptrace scripts/infra/setup-ssh-hosts.sh for the test host $name.
# Monotonic clock shift of this host (time namespace): $shift_s s
ListenAddress $ip_addr:$port
HostKey $host_key
PidFile $pid_file
AllowUsers $SSH_USER
PermitRootLogin no
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
  /usr/sbin/sshd -t -f "$config.new" 2>"$log.check" || {
    cat "$log.check" >&2
    die "sshd rejects the configuration for $name ($config.new)"
  }
  rm -f "$log.check"
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  if ! cmp -s "$config.new" "$config" || ! pid_matches "$pid" "$config" ||
    [[ "$(tcp_greeting "$ip_addr" "$port")" != SSH-2.0-* ]]; then
    stop_sshd "$i"
    mv -f "$config.new" "$config"
    netns_exec=()
    [[ "$mode" == netns ]] && netns_exec=(ip netns exec "$name")
    time_exec=()
    ((shift_s != 0)) && time_exec=(unshare --time --monotonic "$shift_s" --boottime "$shift_s")
    info "starting sshd for $name on $ip_addr:$port (monotonic clock shifted by ${shift_s}s)"
    "${netns_exec[@]}" "${time_exec[@]}" /usr/sbin/sshd -f "$config" -E "$log" 9>&- ||
      die "sshd for $name failed to start (log: $log)"
    for _ in $(seq 1 50); do
      [[ "$(tcp_greeting "$ip_addr" "$port")" == SSH-2.0-* ]] && break
      sleep 0.1
    done
    [[ "$(tcp_greeting "$ip_addr" "$port")" == SSH-2.0-* ]] || {
      tail -n 20 "$log" >&2
      die "sshd for $name does not answer on $ip_addr:$port (log: $log)"
    }
  else
    rm -f "$config.new"
  fi

  fingerprint="$(ssh-keygen -lf "$host_key.pub" | cut -d' ' -f2)"
  key_line="$(cut -d' ' -f1,2 "$host_key.pub")"
  if [[ "$port" == 22 ]]; then
    echo "$ip_addr $key_line" >>"$known_tmp"
  else
    echo "[$ip_addr]:$port $key_line" >>"$known_tmp"
  fi
  hosts_json="$(jq -c \
    --arg name "$name" --arg ip "$ip_addr" --argjson port "$port" --arg fp "$fingerprint" \
    --arg kh "$known_hosts" --arg user "$SSH_USER" --arg key "$client_key" \
    --arg pw "$password_file" --arg ns "$([[ "$mode" == netns ]] && echo "$name")" \
    --arg link "$([[ "$mode" == netns ]] && echo "dt-h$i")" --arg shift "$((shift_s * 1000000000))" \
    '. + [{name: $name, ip: $ip, port: $port, hostKeyFingerprint: $fp, knownHostsPath: $kh,
           user: $user, privateKeyPath: $key, passwordFile: $pw, clockShiftNs: $shift,
           netns: (if $ns == "" then null else $ns end),
           link: (if $link == "" then null else $link end)}]' <<<"$hosts_json")"
done
chmod 644 "$known_tmp"
mv -f "$known_tmp" "$known_hosts"

json_tmp="$(mktemp "$SSH_STATE_JSON.XXXXXX")"
jq -n --arg mode "$mode" --arg gateway "$gateway" --argjson hosts "$hosts_json" \
  '{mode: $mode, gateway: $gateway, hosts: $hosts}' >"$json_tmp"
mv -f "$json_tmp" "$SSH_STATE_JSON"
echo "$DT_CACHE" >"$SSH_OWNER_FILE"
