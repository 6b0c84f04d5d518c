#!/usr/bin/env bash
# The exactly-once test of record (issue 9): run the demo pipeline once
# without failures, then again in another directory while killing it with
# SIGKILL at random moments and restarting it each time; when the killed run
# has finished, its committed output (the JSON-lines sink per partition, and
# the SQLite table) must equal the failure-free run's: no loss, no duplicates.
#
#   tools/exactly-once-check.sh [--kills=5] [--events=400000] [--seed=1] [--debug]
#
# --debug uses the debug build (what `swift build --build-tests` made; CI's
# smoke run), otherwise a release build. Ends with "exactly-once: PASS" or
# what differed (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=5 events=400000 seed=1 config=release
for arg in "$@"; do
  case "$arg" in
    --kills=*) kills="${arg#--kills=}" ;;
    --events=*) events="${arg#--events=}" ;;
    --seed=*) seed="${arg#--seed=}" ;;
    --debug) config=debug ;;
    *) echo "unknown argument $arg (expected --kills=N --events=N --seed=N --debug)" >&2; exit 2 ;;
  esac
done
flagsBuild=(-c "$config")
if [ "$config" = release ]; then swift build "${flagsBuild[@]}" --product strata-demo >/dev/null; fi
bin="$(swift build "${flagsBuild[@]}" --show-bin-path)/strata-demo"
[ -x "$bin" ] || { echo "no $bin (run swift build first)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--events="$events" --seed="$seed" --checkpoint_ms=300 --quiet)

start=$(date +%s.%N)
"$bin" --dir="$work/clean" --fresh "${flags[@]}" >"$work/clean.log"
end=$(date +%s.%N)
duration=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
echo "failure-free run: $events events in ${duration}s"

# Kill times: uniform in [5%, 50%] of a clean run (restarts resume from a
# checkpoint, so they finish sooner), from the seed (awk's rand).
mapfile -t delays < <(awk -v n="$kills" -v d="$duration" -v s="$seed" \
  'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%.3f\n", d * (0.05 + 0.45 * rand()) }')
fresh=--fresh
for ((k = 1; k <= kills; k++)); do
  "$bin" --dir="$work/killed" $fresh "${flags[@]}" >"$work/run-$k.log" 2>&1 &
  pid=$!
  fresh=""
  sleep "${delays[$((k - 1))]}"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    last=$(ls "$work/killed/checkpoints" 2>/dev/null | grep -o 'epoch-[0-9]*' | sort -t- -k2 -n | tail -1 || true)
    echo "kill $k: SIGKILL after ${delays[$((k - 1))]}s (last complete checkpoint: ${last:-none})"
  else
    wait "$pid" || true
    echo "kill $k: the run had already finished"
  fi
done
"$bin" --dir="$work/killed" "${flags[@]}" >"$work/final.log"
grep -h "resumed from" "$work/final.log" || true

"$bin" --dir="$work/clean" --dump >"$work/clean.dump"
"$bin" --dir="$work/killed" --dump >"$work/killed.dump"
rows=$(wc -l <"$work/clean.dump")
if cmp -s "$work/clean.dump" "$work/killed.dump"; then
  echo "committed output: $rows lines (JSON-lines sink + SQLite rows), identical after $kills kills"
  echo "exactly-once: PASS"
else
  echo "committed output differs (< failure-free, > killed and restarted):"
  diff "$work/clean.dump" "$work/killed.dump" | head -20
  echo "exactly-once: FAIL"
  exit 1
fi
