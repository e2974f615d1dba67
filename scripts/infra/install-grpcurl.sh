#!/usr/bin/env bash
# Builds grpcurl at a pinned version from the Go module proxy into $DEEPTRACE_CACHE/bin.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bin="$DT_BIN/grpcurl"
if [[ -x "$bin" ]] && go version -m "$bin" 2>/dev/null |
  grep -qE "^[[:space:]]+mod[[:space:]]+${GRPCURL_MODULE}[[:space:]]+${GRPCURL_VERSION}([[:space:]]|$)"; then
  exit 0
fi

require_cmd go
mkdir -p "$DT_BIN" "$DT_LOGS"
log="$DT_LOGS/grpcurl-install.log"
info "go install $GRPCURL_MODULE/cmd/grpcurl@$GRPCURL_VERSION"
if ! GOBIN="$DT_BIN" go install "$GRPCURL_MODULE/cmd/grpcurl@$GRPCURL_VERSION" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "go install of grpcurl $GRPCURL_VERSION failed (full log: $log)"
fi
"$bin" -version >/dev/null 2>&1 || die "$bin was built but does not run"
