#!/usr/bin/env bash
# Starts or stops a NATS server with JetStream for the tests and demos:
#   tools/nats-server.sh start DIR PORT   # nats-server -js -sd DIR on 127.0.0.1:PORT, in the background
#   tools/nats-server.sh stop DIR PORT    # stops the server started with DIR (its pid file)
# `start` returns once the server accepts connections (at most 20 s), and fails
# with the end of its log otherwise. The server's log and pid file live in DIR.
# Needs Debian's nats-server (tools/install-deps.sh installs it).
set -euo pipefail
usage() { echo "usage: $0 start|stop DIR PORT" >&2; exit 2; }
[ $# -eq 3 ] || usage
action=$1 dir=$2 port=$3
case "$port" in ''|*[!0-9]*) echo "nats-server.sh: PORT must be a number, got '$port'" >&2; exit 2;; esac
pidfile="$dir/nats-server.pid"
case "$action" in
start)
  command -v nats-server >/dev/null || { echo "nats-server.sh: nats-server is not installed; run tools/install-deps.sh" >&2; exit 1; }
  mkdir -p "$dir"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "nats-server.sh: a server started with $dir is already running (pid $(cat "$pidfile"))" >&2; exit 1
  fi
  nats-server -a 127.0.0.1 -p "$port" -js -sd "$dir" -l "$dir/nats-server.log" >/dev/null 2>&1 &
  echo $! >"$pidfile"
  # Ready once the port answers with the server's INFO line (bounded: 200 x 0.1 s).
  for _ in $(seq 200); do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "nats-server.sh: nats-server exited during start; its log:" >&2; tail -20 "$dir/nats-server.log" >&2 || true
      rm -f "$pidfile"; exit 1
    fi
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      line=$(timeout 2 head -c 4 <&3 || true); exec 3<&- 3>&-
      if [ "$line" = "INFO" ]; then echo "nats-server on 127.0.0.1:$port (store $dir, pid $(cat "$pidfile"))"; exit 0; fi
    fi
    sleep 0.1
  done
  echo "nats-server.sh: nats-server did not accept on 127.0.0.1:$port within 20 s; its log:" >&2
  tail -20 "$dir/nats-server.log" >&2 || true
  kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; exit 1
  ;;
stop)
  [ -f "$pidfile" ] || { echo "nats-server.sh: no pid file in $dir (not started with it?)" >&2; exit 0; }
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  echo "nats-server stopped (store $dir)"
  ;;
*) usage;;
esac
