#!/usr/bin/env bash
# A walk through the agent-manager API with nothing but grpcurl and server reflection (no
# proto files). Run it against a running agent-manager:
#
#   ADDRESS=127.0.0.1:50051 TOKEN=<operator token> AGENT=<agent name> \
#     test/agent-manager/grpcurl-walkthrough.sh
#
# GRPCURL overrides the grpcurl binary; PLAINTEXT=0 uses TLS (add CACERT=<file>).
# It deploys AGENT (clone, install, sync config; no start), which is idempotent.
set -euo pipefail

: "${ADDRESS:?set ADDRESS=host:port of the agent-manager}"
: "${TOKEN:?set TOKEN to a bearer token with the operator role}"
: "${AGENT:?set AGENT to the name of an agent to deploy}"
GRPCURL="${GRPCURL:-grpcurl}"
SERVICE=deeptrace.agent.v1.AgentManagerService

transport=(-plaintext)
if [[ "${PLAINTEXT:-1}" == 0 ]]; then
  transport=()
  if [[ -n "${CACERT:-}" ]]; then transport=(-cacert "$CACERT"); fi
fi
call() { "$GRPCURL" "${transport[@]}" -H "authorization: Bearer $TOKEN" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "1. Services the server offers (reflection needs no token)"
"$GRPCURL" "${transport[@]}" "$ADDRESS" list

step "2. What AgentManagerService can do"
"$GRPCURL" "${transport[@]}" "$ADDRESS" describe "$SERVICE"

step "3. The shape of a deploy request"
"$GRPCURL" "${transport[@]}" -msg-template "$ADDRESS" describe deeptrace.agent.v1.DeployAgentsRequest

step "4. ListAgents: every agent with its state"
call "$ADDRESS" "$SERVICE/ListAgents"

step "5. DeployAgents for $AGENT: progress streams in as each step runs"
request=$(printf '{"selector": {"names": ["%s"]}, "rollout": {"concurrency": 4}}' "$AGENT")
call -d "$request" "$ADDRESS" "$SERVICE/DeployAgents"

step "6. GetAgent $AGENT: state, config hashes, clock offset"
call -d "$(printf '{"name": "%s"}' "$AGENT")" "$ADDRESS" "$SERVICE/GetAgent"

step "done"
