#!/usr/bin/env bash
# The engine demo (was the main job before the stream demo): an end-to-end
# Strata engine demo (release build).
#   1. load a million keys into a database with `strata load` (ldb's command),
#      then print the level layout and the write amplification of the load;
#   2. reopen it and read every key back (`strata scan` equals the input),
#      look keys up with `strata get`;
#   3. let RocksDB 7.8.3 judge the directory (sst_dump verifies every table,
#      ldb scans it and finds keys through Strata's bloom filters);
#   4. write one table with `strata write_sst` and inspect it with `sst-dump`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build -c release --product strata >/dev/null
swift build -c release --product sst-dump >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/db"
keys=1000000
export LC_ALL=C

echo "== generating $keys key-value lines (ldb load format), keys in a scrambled order"
# Key i*7919 mod N walks every number below N once (7919 is prime, N = 10^6).
awk -v n=$keys 'BEGIN { for (i = 0; i < n; i++) { k = (i * 7919) % n;
  printf "user%08d ==> {\"id\":%d,\"clicks\":%d,\"region\":\"eu-%d\"}\n", k, k, (k * 31) % 1000, k % 7 } }' >"$work/input.txt"

echo "== strata --db=DB --create_if_missing --write_buffer_size=4194304 load --stats < input  (4 MiB memtables: many flushes and compactions)"
start=$(date +%s.%N)
"$bin/strata" --db="$db" --create_if_missing --write_buffer_size=4194304 --bloom_bits=10 load --stats <"$work/input.txt"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n=$keys 'BEGIN { printf "loaded %d keys in %.2f s (%.0f keys/s, including parsing the text input)\n", n, e - s, n / (e - s) }'

echo "== reopen: strata --db=DB stats (level layout as recorded in the MANIFEST)"
"$bin/strata" --db="$db" stats | sed -n '1,11p'

echo "== reopen: strata --db=DB scan, compared with the sorted input"
"$bin/strata" --db="$db" scan >"$work/scan.txt"
sed 's/ ==> / : /' "$work/input.txt" | sort >"$work/expected.txt"
if cmp -s "$work/expected.txt" "$work/scan.txt"; then
  echo "read back $(wc -l <"$work/scan.txt") keys: equal to the input"
else
  echo "MISMATCH between the scan and the input:"; diff "$work/expected.txt" "$work/scan.txt" | head; exit 1
fi
echo "== strata get user00500000; strata get user99999999 (absent)"
"$bin/strata" --db="$db" get user00500000
"$bin/strata" --db="$db" get user99999999 || true
echo "== strata scan --from=user00999998 --max_keys=3"
"$bin/strata" --db="$db" scan --from=user00999998 --max_keys=3

echo "== RocksDB 7.8.3 judges the directory: ../shared/tools/rocksdb-check.sh (if present) or sst_dump + ldb"
if [ -x ../shared/tools/rocksdb-check.sh ] || [ -f ../shared/tools/rocksdb-check.sh ]; then
  bash ../shared/tools/rocksdb-check.sh "$db" | tail -5
else
  for f in "$db"/*.sst; do sst_dump --file="$f" --command=verify --verify_checksum 2>&1 | grep -q "The file is ok" || { echo "sst_dump: $f FAILED"; exit 1; }; done
  echo "sst_dump verify: all tables ok"
  echo "ldb get user00500000: $(ldb --db="$db" --try_load_options=false get user00500000)"
  echo "ldb scan: $(ldb --db="$db" --try_load_options=false scan | wc -l) keys"
fi

echo "== strata write_sst: the first 100000 lines into one table, inspected with sst-dump"
head -100000 "$work/input.txt" | "$bin/strata" write_sst --file="$work/demo.sst" --compression=snappy --checksum=xxh3 --bloom_bits=10
"$bin/sst-dump" --file="$work/demo.sst" --command=verify
"$bin/sst-dump" --file="$work/demo.sst" --command=none --show_properties | head -24
"$bin/sst-dump" --file="$work/demo.sst" --command=scan --read_num=3
echo "== RocksDB's own sst_dump --command=verify --verify_checksum"
sst_dump --file="$work/demo.sst" --command=verify --verify_checksum 2>&1 | grep -v '^options.env'
