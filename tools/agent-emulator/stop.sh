#!/bin/sh
# Stops the emulator if it runs (TERM, then KILL after 10 s) and removes the pid file.
set -eu
cd "$(dirname "$0")"
[ -f agent.pid ] || { echo "not running"; exit 0; }
pid=$(cat agent.pid)
case "$pid" in ''|*[!0-9]*) rm -f agent.pid; echo "not running"; exit 0 ;; esac
if [ -d "/proc/$pid" ] && grep -q agent.mjs "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid" 2>/dev/null || true
  i=0
  while [ -d "/proc/$pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
fi
rm -f agent.pid
echo "stopped"
