#!/usr/bin/env bash
# The live dashboard in a real browser (issue 25): starts the demo job with
# --serve on a loopback port, waits until the server has sampled a few
# seconds of the running job, then
#   * reads /metrics with curl: every line must be `# HELP`/`# TYPE` or
#     `name{labels} value`, and the metrics docs/operations.md promises must
#     be there;
#   * loads / in Debian's chromium, headless, lets the page poll
#     /api/series a few times (--virtual-time-budget) and dumps the rendered
#     DOM: every chart must have drawn data points (the page writes
#     data-points="N" on each chart's <figure>, data-polls="N" on <body>);
#   * takes a screenshot of the page (PNG).
# The demo is stopped at the end (its directory is a temporary one).
#
#   tools/dashboard-check.sh [--release] [--screenshot=FILE.png] [--min_samples=6]
#
# Debug build by default (what `swift build --build-tests` made; CI's run).
# Last line "dashboard: PASS ..." or "dashboard: FAIL ..." (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
config=debug shot="" min_samples=6
for arg in "$@"; do
  case "$arg" in
    --release) config=release ;;
    --screenshot=*) shot="${arg#--screenshot=}" ;;
    --min_samples=*) min_samples="${arg#--min_samples=}" ;;
    *) echo "unknown argument $arg (expected --release --screenshot=FILE --min_samples=N)" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "$1"; echo "dashboard: FAIL ($1)"; exit 1; }

command -v chromium >/dev/null || fail "no chromium (tools/install-deps.sh installs Debian's)"
command -v curl >/dev/null || fail "no curl (tools/install-deps.sh installs it)"
swift build -c "$config" --product strata-demo >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; fail "cannot build strata-demo"; }
bin="$(swift build -c "$config" --show-bin-path)/strata-demo"
[ -x "$bin" ] || fail "no $bin"

# A free loopback port: a random one, another if the demo says it is in use
# (the server starts before the job, so that is the demo's first words).
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  url="http://127.0.0.1:$port"
  # More events than the check needs: the job runs until it is stopped below.
  "$bin" --dir="$work/demo" --fresh --events=1000000000 --checkpoint_ms=500 --quiet \
    --serve="127.0.0.1:$port" >"$work/demo.log" 2>&1 &
  pid=$!
  # Up to 60 s for the server to have taken min_samples samples of the running job.
  ok=""
  deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    samples=$(curl -sf --max-time 2 "$url/api/series" | sed -n 's/.*"samples":\([0-9]*\).*/\1/p' || true)
    if [ -n "$samples" ] && [ "$samples" -ge "$min_samples" ]; then ok=1; break; fi
    sleep 0.5
  done
  [ -n "$ok" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    pid=""
    if grep -qi "address already in use" "$work/demo.log"; then continue; fi
    cat "$work/demo.log"
    fail "the demo ended before the server had $min_samples samples"
  fi
  fail "no $min_samples samples from $url/api/series within 60 s"
done
[ -n "$pid" ] || fail "no free port in 5 tries"

# /metrics: the text parses, the promised metrics are there.
curl -sf --max-time 10 "$url/metrics" >"$work/metrics.txt" || fail "GET /metrics failed"
bad=$(grep -Ev '^(# (HELP|TYPE) .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)( [0-9]+)?)$' "$work/metrics.txt" | head -3 || true)
[ -z "$bad" ] || fail "/metrics has lines that are not Prometheus text: $bad"
lines=$(grep -vc '^#' "$work/metrics.txt")
missing=()
for name in strata_pipeline_events_in_total strata_pipeline_events_out_total strata_pipeline_watermark_lag_seconds \
    strata_pipeline_logic_late_events_total strata_pipeline_checkpoint_duration_seconds_count \
    strata_pipeline_checkpoint_size_bytes strata_pipeline_barrier_to_commit_seconds_sum \
    strata_pipeline_backpressure_seconds_total strata_pipeline_engine_level_bytes \
    strata_pipeline_engine_write_amplification strata_pipeline_engine_pending_compaction_bytes \
    strata_pipeline_engine_write_stall_seconds_total strata_pipeline_engine_block_cache_hits_total \
    strata_pipeline_engine_block_cache_misses_total strata_pipeline_engine_memtable_bytes \
    strata_pipeline_engine_block_cache_usage_bytes; do
  grep -q "^$name[{ ]" "$work/metrics.txt" || missing+=("$name")
done
((${#missing[@]} == 0)) || fail "/metrics lacks ${missing[*]}"
grep -q '^strata_pipeline_events_in_total{partition="1"} [1-9]' "$work/metrics.txt" || fail "partition 1 read no events"

# The page in a real browser. Root needs --no-sandbox; the virtual time
# budget lets the page's 1 s poll run several times before the DOM is read.
browser=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
         --user-data-dir="$work/profile" --virtual-time-budget=6000)
timeout 120 "${browser[@]}" --dump-dom "$url/" >"$work/dom.html" 2>"$work/chromium.log" \
  || { tail -5 "$work/chromium.log"; fail "chromium --dump-dom failed"; }
polls=$(sed -n 's/.*<body data-polls="\([0-9]*\)".*/\1/p' "$work/dom.html" | head -1)
[ -n "$polls" ] && [ "$polls" -ge 2 ] || fail "the page polled /api/series ${polls:-0} times (want >= 2)"
charts=0
empty=()
for id in throughput lag checkpoint checkpoint_size levels wamp backpressure memory; do
  points=$(grep -o "<figure id=\"chart-$id\"[^>]*>" "$work/dom.html" | sed -n 's/.*data-points="\([0-9]*\)".*/\1/p')
  if [ -z "$points" ] || [ "$points" -lt 3 ]; then empty+=("$id:${points:-none}"); else charts=$((charts + 1)); fi
done
((${#empty[@]} == 0)) || fail "charts without data points: ${empty[*]}"
timeout 120 "${browser[@]}" --window-size=1400,1100 --screenshot="$work/dashboard.png" "$url/" \
  >/dev/null 2>>"$work/chromium.log" || { tail -5 "$work/chromium.log"; fail "chromium --screenshot failed"; }
[ -s "$work/dashboard.png" ] || fail "no screenshot"
size=$(stat -c %s "$work/dashboard.png")
[ "$(head -c 8 "$work/dashboard.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
if [ -n "$shot" ]; then mkdir -p "$(dirname "$shot")"; cp "$work/dashboard.png" "$shot"; fi
kill -0 "$pid" 2>/dev/null || fail "the demo died during the check"
echo "dashboard: PASS ($charts charts with data points after $polls polls in chromium; /metrics $lines samples, all parsed; screenshot ${shot:-taken} ($size bytes))"
