#!/usr/bin/env bash
# The Redis sink's kill test (docs/redis-sink.md): runs tools/redis-sink-job
# into a throwaway redis-server once without failures (key prefix "clean"),
# then again (prefix "killed") while SIGKILLing the job, Redis, or both at
# seeded random moments and restarting them; at the end the cache under
# "killed" must hold exactly what the failure-free run left under "clean" —
# every key, every value — also after one more SIGKILL and restart of Redis.
#
# Each cycle waits until the running job has committed a new checkpoint,
# waits a seeded delay, then kills:
#   job    the job (SIGKILL);
#   redis  redis-server (SIGKILL), restarts it after a seeded pause, waits
#          until the job commits another checkpoint (it reconnected), then
#          kills the job;
#   both   the job and redis-server at once, then restarts redis-server.
# A job that ends by itself before its kill fails the check if it finished
# (the schedule did not test anything); one that failed (e.g. Redis stayed
# down past its retries) is allowed and said: its restart recovers.
#
#   tools/redis-sink-check.sh [--kills=6] [--events=200000] [--seed=1] [--layout=strings|hashes] [--debug]
#
# --debug uses the debug build (what `swift build` made), otherwise a
# release build of redis-sink-job. The last line is "redis-sink: PASS …" or
# "redis-sink: FAIL …" (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=6 events=200000 seed=1 config=release layout=strings
for arg in "$@"; do
  case "$arg" in
    --kills=*) kills="${arg#--kills=}" ;;
    --events=*) events="${arg#--events=}" ;;
    --seed=*) seed="${arg#--seed=}" ;;
    --layout=*) layout="${arg#--layout=}" ;;
    --debug) config=debug ;;
    *) echo "unknown argument $arg (expected --kills=N --events=N --seed=N --layout=strings|hashes --debug)" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "redis-server is not installed: run tools/install-deps.sh"; echo "redis-sink: FAIL (no redis-server)"; exit 1; }
if [ "$config" = release ]; then swift build -c release --product redis-sink-job >/dev/null; fi
bin="$(swift build -c "$config" --show-bin-path)/redis-sink-job"
[ -x "$bin" ] || { echo "no $bin (run swift build --product redis-sink-job first)" >&2; exit 2; }

work=$(mktemp -d)
# A loopback port nothing listens on (bash's /dev/tcp connects if one does).
port=""
for _ in $(seq 1 100); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "no free port found"; echo "redis-sink: FAIL (setup)"; exit 1; }
redis() { tools/redis-server.sh "$1" "$work/redis" "$port"; }
job_pid=""
cleanup() {
  [ -n "$job_pid" ] && kill -9 "$job_pid" 2>/dev/null || true
  redis kill >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "$1"; echo "redis-sink: FAIL ($2)"; exit 1; }
redis start
flags=(--redis="127.0.0.1:$port" --events="$events" --seed="$seed" --checkpoint-ms=200 --layout="$layout")

# The latest complete checkpoint of the killed job (0 if none).
latest_epoch() {
  local e
  e=$(ls "$work/killed/checkpoints" 2>/dev/null | sed -n 's/^epoch-\([0-9]*\)\.json$/\1/p' | sort -n | tail -1 || true)
  echo "${e:-0}"
}
# True while process $1 runs (a finished child not yet waited for is a zombie).
running() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}
# Waits until the job commits a checkpoint past $1 or ends; true if it did commit.
wait_checkpoint_after() {
  while running "$job_pid" && [ "$(latest_epoch)" -le "$1" ]; do sleep 0.02; done
  [ "$(latest_epoch)" -gt "$1" ]
}

start=$(date +%s.%N)
"$bin" --dir="$work/clean" --prefix=clean --fresh "${flags[@]}" >"$work/clean.log" 2>&1 || fail "$(cat "$work/clean.log")" "the failure-free run failed"
end=$(date +%s.%N)
duration=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
echo "failure-free run: $events events in ${duration}s ($(cat "$work/clean.log"))"

# Per cycle: the victim, the delay after a new checkpoint (uniform in
# [0, 30% of a clean run / kills]: all cycles together get through well under
# the whole job), and Redis' down time (0-1 s, inside the committer's
# reconnect budget).
mapfile -t plan < <(awk -v n="$kills" -v d="$duration" -v s="$seed" 'BEGIN {
  srand(s); split("job redis both", victims, " ")
  for (i = 0; i < n; i++) printf "%s %.3f %.3f\n", victims[1 + int(rand() * 3)], d * 0.3 / n * rand(), rand() }')
# SIGKILLs the job and reaps it at once, its exit status in $status (bash
# reports on stderr a killed job it reaps later).
kill_job() { kill -9 "$job_pid" 2>/dev/null || true; wait "$job_pid" 2>/dev/null || status=$?; job_pid=""; }
fresh=--fresh
counts_job=0 counts_redis=0 counts_both=0 failed_alone=0
for ((k = 1; k <= kills; k++)); do
  read -r victim delay down <<<"${plan[$((k - 1))]}"
  before=$(latest_epoch)
  "$bin" --dir="$work/killed" --prefix=killed $fresh "${flags[@]}" >"$work/run-$k.log" 2>&1 &
  job_pid=$!
  fresh=""
  wait_checkpoint_after "$before" || true
  sleep "$delay"
  note=""
  status=0
  case "$victim" in
    job)
      kill_job
      counts_job=$((counts_job + 1)) ;;
    redis)
      redis kill
      sleep "$down"
      redis start
      # The job must go on after Redis is back: another checkpoint committed.
      mid=$(latest_epoch)
      if wait_checkpoint_after "$mid"; then note="the job went on past Redis' restart to checkpoint $(latest_epoch)"; fi
      kill_job
      counts_redis=$((counts_redis + 1)) ;;
    both)
      kill_job
      redis kill
      redis start
      counts_both=$((counts_both + 1)) ;;
  esac
  if [ "$status" -eq 0 ]; then
    fail "run $k finished before its kill: $(cat "$work/run-$k.log")" "the kill schedule was too late; use more --events"
  elif [ "$status" -ne 137 ]; then
    failed_alone=$((failed_alone + 1))
    note="the job failed by itself (exit $status): $(tail -1 "$work/run-$k.log")"
  fi
  echo "kill $k: $victim ${delay}s after checkpoint $((before + 1))${note:+; $note} (last complete checkpoint: $(latest_epoch))"
done

"$bin" --dir="$work/killed" --prefix=killed "${flags[@]}" >"$work/final.log" 2>&1 || fail "$(cat "$work/final.log")" "the final run failed"
echo "final run: $(cat "$work/final.log")"
grep -q "resumed from checkpoint" "$work/final.log" || fail "the final run did not resume from a checkpoint" "setup"

compare() {
  "$bin" --dump --redis="127.0.0.1:$port" --prefix=clean --layout="$layout" >"$work/clean.dump"
  "$bin" --dump --redis="127.0.0.1:$port" --prefix=killed --layout="$layout" >"$work/killed.dump"
  [ -s "$work/clean.dump" ] || fail "the failure-free run left nothing in Redis" "empty output"
  if ! cmp -s "$work/clean.dump" "$work/killed.dump"; then
    diff "$work/clean.dump" "$work/killed.dump" | head -20
    fail "Redis contents differ $1 ($(wc -l <"$work/clean.dump") clean keys, $(wc -l <"$work/killed.dump") killed)" "contents differ $1"
  fi
}
compare "after the runs"
# What Redis acknowledged survives its own crash (append-only file).
redis kill
redis start
compare "after a final SIGKILL and restart of Redis"
keys=$(wc -l <"$work/clean.dump")
echo "redis-sink: PASS ($kills kills: $counts_job job, $counts_redis Redis, $counts_both both; $failed_alone runs failed by themselves; $keys keys identical to the failure-free run, also after a Redis restart)"
