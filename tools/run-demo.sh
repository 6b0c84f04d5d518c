#!/usr/bin/env bash
# The main job: builds Strata (release), writes a table from generated data
# with `strata write_sst`, then inspects it with `sst-dump` and checks it with
# RocksDB's own sst_dump.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build -c release --product strata >/dev/null
swift build -c release --product sst-dump >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== generating 100000 key-value lines (ldb load format)"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "user%08d ==> {\"id\":%d,\"clicks\":%d,\"region\":\"eu-%d\"}\n", i, i, (i * 7919) % 1000, i % 7 }' >"$work/input.txt"
echo "== strata write_sst --file=$work/demo.sst --compression=snappy --checksum=xxh3 --bloom_bits=10"
"$bin/strata" write_sst --file="$work/demo.sst" --compression=snappy --checksum=xxh3 --bloom_bits=10 <"$work/input.txt"
echo "== sst-dump --file=$work/demo.sst --command=verify --show_properties"
"$bin/sst-dump" --file="$work/demo.sst" --command=verify --show_properties
echo "== sst-dump --command=scan --read_num=5"
"$bin/sst-dump" --file="$work/demo.sst" --command=scan --read_num=5
echo "== sst-dump --command=blocks (first 10 blocks)"
"$bin/sst-dump" --file="$work/demo.sst" --command=blocks >"$work/blocks.txt"
head -12 "$work/blocks.txt"
echo "== RocksDB's own sst_dump --command=verify --verify_checksum"
sst_dump --file="$work/demo.sst" --command=verify --verify_checksum 2>&1 | grep -v '^options.env'
