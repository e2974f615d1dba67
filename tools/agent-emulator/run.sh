#!/bin/sh
# Starts the emulator in the background with the given config (default agent.toml) and
# writes its pid to agent.pid. Does nothing when it is already running.
set -eu
cd "$(dirname "$0")"
config="${1:-agent.toml}"
[ -f "$config" ] || { echo "config $config is missing" >&2; exit 5; }
if [ -f agent.pid ]; then
  pid=$(cat agent.pid)
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
    echo "already running (pid $pid)"
    exit 0
  fi
fi
node --check agent.mjs
nohup node agent.mjs --config "$config" </dev/null >>agent.log 2>&1 &
echo $! >agent.pid
sleep 0.3
pid=$(cat agent.pid)
if [ ! -d "/proc/$pid" ]; then
  echo "the emulator exited at once; last log lines:" >&2
  tail -n 5 agent.log >&2
  rm -f agent.pid
  exit 1
fi
echo "started (pid $pid)"
