#!/usr/bin/env bash
# The exactly-once test of record (issue 9): run the demo pipeline once
# without failures, then again in another directory while killing it with
# SIGKILL at random moments and restarting it each time; when the killed run
# has finished, its committed output must equal the failure-free run's: each
# partition's JSON-lines rows in their commit order, and the SQLite table's
# rows — no loss, no duplicates, no reordering.
#
# The check can fail on its own setup too: every kill must land mid-run (the
# process dies of SIGKILL; a run that had already finished is a failure, as
# is a run that ends before it commits a checkpoint), each restart must
# resume from the latest complete checkpoint the killed run left (the
# demo's "restoring from checkpoint E" line), and the committed output must
# not be empty.
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

fail() { echo "$1"; echo "exactly-once: FAIL"; exit 1; }
# The latest complete checkpoint in DIR (0 if none): checkpoints/epoch-E.json.
latest_epoch() {
  local e
  e=$(ls "$1/checkpoints" 2>/dev/null | sed -n 's/^epoch-\([0-9]*\)\.json$/\1/p' | sort -n | tail -1 || true)
  echo "${e:-0}"
}

# True while process $1 runs (a finished child not yet waited for is a
# zombie, which kill -0 still finds).
running() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}

start=$(date +%s.%N)
"$bin" --dir="$work/clean" --fresh "${flags[@]}" >"$work/clean.log"
end=$(date +%s.%N)
duration=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
echo "failure-free run: $events events in ${duration}s"

# Each run is killed a seeded random delay after it has committed a new
# checkpoint (so its restart must resume from one): the delay is uniform in
# [0, 40% of a clean run / kills], so all the runs together get through at
# most about 40% of the work (plus one checkpoint interval each) and every
# kill lands mid-run.
mapfile -t delays < <(awk -v n="$kills" -v d="$duration" -v s="$seed" \
  'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%.3f\n", d * 0.4 / n * rand() }')
fresh=--fresh
expected_resume=none
for ((k = 1; k <= kills; k++)); do
  before=$(latest_epoch "$work/killed")
  "$bin" --dir="$work/killed" $fresh "${flags[@]}" >"$work/run-$k.log" 2>&1 &
  pid=$!
  fresh=""
  # Wait until the run commits a checkpoint past the one it started from.
  while running "$pid" && [ "$(latest_epoch "$work/killed")" -le "$before" ]; do sleep 0.02; done
  sleep "${delays[$((k - 1))]}"
  kill -9 "$pid" 2>/dev/null || true
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  # 137 = 128 + SIGKILL: the kill landed while the run was still running.
  [ "$rc" -eq 137 ] || fail "kill $k: the run was not killed mid-run (exit status $rc; it finished first):
$(tail -5 "$work/run-$k.log")"
  resumed=$(sed -n 's/^strata-demo: restoring from checkpoint \([0-9]*\)$/\1/p' "$work/run-$k.log")
  if [ "$k" -gt 1 ] && [ "$resumed" != "$expected_resume" ]; then
    fail "restart $((k - 1)): resumed from checkpoint '${resumed:-none}', expected $expected_resume:
$(head -3 "$work/run-$k.log")"
  fi
  expected_resume=$(latest_epoch "$work/killed")
  echo "kill $k: SIGKILL ${delays[$((k - 1))]}s after checkpoint $((before + 1)) (resumed from: ${resumed:-nothing}; last complete checkpoint: $expected_resume)"
done
"$bin" --dir="$work/killed" "${flags[@]}" >"$work/final.log"
resumed=$(sed -n 's/^strata-demo: restoring from checkpoint \([0-9]*\)$/\1/p' "$work/final.log")
[ "$resumed" = "$expected_resume" ] || fail "final run: resumed from checkpoint '${resumed:-none}', expected $expected_resume"
echo "final run: resumed from checkpoint $resumed"

"$bin" --dir="$work/clean" --dump >"$work/clean.dump"
"$bin" --dir="$work/killed" --dump >"$work/killed.dump"
jsonl=$(grep -c '^jsonl ' "$work/clean.dump" || true)
sqlite=$(grep -c '^sqlite ' "$work/clean.dump" || true)
[ "$jsonl" -gt 0 ] && [ "$sqlite" -gt 0 ] || fail "the failure-free run committed nothing to compare ($jsonl JSON-lines rows, $sqlite SQLite rows)"
if cmp -s "$work/clean.dump" "$work/killed.dump"; then
  echo "committed output: $jsonl JSON-lines rows (per partition, in commit order) + $sqlite SQLite rows, identical after $kills kills"
  echo "exactly-once: PASS"
else
  echo "committed output differs (< failure-free, > killed and restarted):"
  diff "$work/clean.dump" "$work/killed.dump" | head -20
  echo "exactly-once: FAIL"
  exit 1
fi
