#!/usr/bin/env bash
# Starts and stops a throwaway redis-server for scripts (the Redis sink's
# kill test, demos): loopback only, its data in DIR (append-only file on,
# no RDB snapshots), daemonized with DIR/redis.pid and DIR/redis.log.
#
#   tools/redis-server.sh start DIR PORT   # returns once it answers PING (30 s at most)
#   tools/redis-server.sh stop DIR PORT    # SIGTERM: clean shutdown, waits for the exit
#   tools/redis-server.sh kill DIR PORT    # SIGKILL: a crash, waits for the exit
#
# redis-server comes from Debian's redis-server package (tools/install-deps.sh).
set -euo pipefail
usage() { echo "usage: $0 start|stop|kill DIR PORT" >&2; exit 2; }
[ $# -eq 3 ] || usage
action=$1 dir=$2 port=$3
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || { echo "$0: PORT must be 1-65535, not $port" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "$0: redis-server is not installed: run tools/install-deps.sh" >&2; exit 1; }

# The server's pid, if it runs (from its pidfile).
server_pid() {
  local pid
  pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

# Waits until process $1 is gone (the server is not our child: no `wait`).
wait_gone() {
  for _ in $(seq 1 3000); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.01
  done
  echo "$0: redis-server (pid $1) did not exit" >&2
  return 1
}

case "$action" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -n "$(server_pid)" ]; then echo "$0: already running (pid $(server_pid))" >&2; exit 1; fi
    rm -f "$dir/redis.pid"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    # Ready when it answers PING (it answers LOADING while it reads its AOF).
    for _ in $(seq 1 3000); do
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" = PONG ]; then exit 0; fi
      if [ -f "$dir/redis.pid" ] && [ -z "$(server_pid)" ]; then break; fi
      sleep 0.01
    done
    echo "$0: redis-server on port $port did not start; its log:" >&2
    tail -20 "$dir/redis.log" >&2 || true
    exit 1
    ;;
  stop|kill)
    pid=$(server_pid)
    [ -n "$pid" ] || exit 0
    if [ "$action" = stop ]; then kill -TERM "$pid"; else kill -KILL "$pid"; fi
    wait_gone "$pid"
    ;;
  *) usage ;;
esac
