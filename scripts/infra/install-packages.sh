#!/usr/bin/env bash
# Installs the Debian packages the test infrastructure runs on (NATS, sshd, sudo, ...).
# Idempotent: does nothing (and needs no root) when every package is already installed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

require_root "install-packages.sh" "installs Debian packages: ${missing[*]}"
mkdir -p "$DT_LOGS"
log="$DT_LOGS/apt.log"
: >"$log"

# Package scripts must not start a system-wide sshd on port 22: the test hosts run their
# own. Debian's policy-rc.d mechanism says so; add a temporary one unless one exists.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
info "apt-get install ${missing[*]}"
if ! apt-get update >>"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "apt-get update failed (full log: $log)"
fi
if ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "apt-get install ${missing[*]} failed (full log: $log)"
fi
