#!/usr/bin/env bash
# Benchmarks sharded builds: FILES source files of ROWS rows each (plus one
# file of BIG rows, cut into ranges), built with shards = 1, 2 and 4, each
# shard a process limited to one core (GOMAXPROCS=1, --workers 1), as a pod
# with a 1-CPU limit would be. It checks that every shard count publishes
# the same part files byte for byte.
#
#   hack/bench/shards.sh [FILES] [ROWS] [BIG]     (default 40 25000 200000)
#
# Prints a Markdown table (wall and CPU seconds, max RSS) and writes it to
# bin/bench-shards.md. On a machine with fewer cores than shards, wall times
# say little; CPU seconds and the per-shard split still do.
set -euo pipefail
cd "$(dirname "$0")/../.."

files=${1:-40}
rows=${2:-25000}
big=${3:-200000}
data=bin/bench-data/shards-${files}x${rows}+${big}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o bin/mldata ./cmd/mldata
go build -o bin/gendata ./hack/gendata
if [ ! -f "$data/.complete" ]; then
  rm -rf "$data" && mkdir -p "$data"
  for i in $(seq -w 1 "$files"); do
    bin/gendata -rows "$rows" -seed "$((10#$i))" -o "$data/part-$i.csv"
  done
  bin/gendata -rows "$big" -seed 999 -o "$data/zbig.csv"
  touch "$data/.complete"
fi
bytes=$(du -sb "$data" | cut -f1)
# Ranges of about a quarter of the big file, so that it spreads.
range=$(( $(stat -c %s "$data/zbig.csv") / 4 ))

# timed NAME CMD...: runs CMD, appends "NAME wall user sys maxrss_kb" to $work/times.
timed() {
  local name=$1
  shift
  /usr/bin/time -o "$work/t" -f "%e %U %S %M" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  echo "$name $(cat "$work/t")" >>"$work/times"
}

echo "| shards | total wall s | plan wall / CPU s | shards wall s (slowest) | shard CPU s: sum (largest) | commit wall / CPU s | max RSS MiB (a shard) | parts identical to shards=1 |" >"$work/table"
echo "|---|---|---|---|---|---|---|---|" >>"$work/table"
for n in 1 2 4; do
  out=$work/out-$n
  rm -f "$work/times"
  args=(build --source "$data" --include '*.csv' --output "$out" --build-id bench --chunk-rows 16384 --part-rows 65536 --compression zstd)
  t0=$(date +%s.%N)
  timed plan env GOMAXPROCS=1 bin/mldata "${args[@]}" --workers 1 --plan-only --shards "$n" --range-bytes "$range"
  t1=$(date +%s.%N)
  for i in $(seq 0 $((n - 1))); do
    timed "shard$i" env GOMAXPROCS=1 bin/mldata "${args[@]}" --workers 1 --shard "$i/$n" &
  done
  wait
  t2=$(date +%s.%N)
  timed commit env GOMAXPROCS=1 bin/mldata "${args[@]}" --workers 1 --commit
  t3=$(date +%s.%N)
  sum=$( (cd "$out/builds/bench" && find . -name 'part-*' -type f | sort | xargs sha256sum) | sha256sum | cut -c1-16)
  [ "$n" = 1 ] && first=$sum
  same=no
  [ "$sum" = "$first" ] && same=yes
  python3 - "$n" "$t0" "$t1" "$t2" "$t3" "$work/times" "$same" >>"$work/table" <<'PY'
import sys
n, t0, t1, t2, t3, path, same = sys.argv[1], *map(float, sys.argv[2:6]), sys.argv[6], sys.argv[7]
rows = {l.split()[0]: l.split()[1:] for l in open(path)}
cpu = lambda r: float(r[1]) + float(r[2])
shards = [r for k, r in rows.items() if k.startswith("shard")]
slow = max(float(r[0]) for r in shards)
rss = max(int(r[3]) for r in shards) / 1024
print(f"| {n} | {t3 - t0:.2f} | {t1 - t0:.2f} / {cpu(rows['plan']):.2f} | {t2 - t1:.2f} ({slow:.2f}) | {sum(map(cpu, shards)):.2f} ({max(map(cpu, shards)):.2f}) | {t3 - t2:.2f} / {cpu(rows['commit']):.2f} | {rss:.0f} | {same} |")
PY
done
{
  echo "Source: $files files x $rows rows + 1 file of $big rows ($((bytes / 1048576)) MiB CSV), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg), $(date -u +%Y-%m-%d)."
  echo
  cat "$work/table"
} | tee bin/bench-shards.md
