#!/usr/bin/env bash
# Stops the SSH test hosts' sshd daemons and removes their namespaces and bridge (either
# mode), unless another cache owns them. Keeps the user, keys and password, so a later
# setup is quick and keys stay stable.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

take_lock ssh-hosts
require_root "teardown-ssh-hosts.sh" "removes network namespaces and stops sshd daemons"

for pid_file in "$DT_RUN"/sshd-dt-host*.pid; do
  [[ -e "$pid_file" ]] || continue
  name="$(basename "$pid_file" .pid)"
  name="${name#sshd-}"
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  if pid_matches "$pid" "$SSH_DIR/hosts/$name/sshd_config"; then
    stop_pid "$pid" 10
  fi
  rm -f "$pid_file"
done

owner="$(cat "$SSH_OWNER_FILE" 2>/dev/null || true)"
if [[ -n "$owner" && "$owner" != "$DT_CACHE" ]]; then
  rm -f "$SSH_STATE_JSON"
  exit 0 # the namespaces and bridge are another cache's
fi

for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^dt-host[0-9]+$/ {print $1}'); do
  ip netns del "$ns" || die "could not delete the network namespace $ns"
done
for link in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^dt-h[0-9]+$'); do
  ip link del "$link" 2>/dev/null || true
done
if ip link show "$SSH_BRIDGE" >/dev/null 2>&1; then
  ip link del "$SSH_BRIDGE" || die "could not delete the bridge $SSH_BRIDGE"
fi
rm -f "$SSH_STATE_JSON" "$SSH_OWNER_FILE"
