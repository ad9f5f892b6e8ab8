#!/usr/bin/env bash
# Benchmarks incremental rebuilds: FILES source files of ROWS rows each; a
# full build, a rebuild after one file changed, and a rebuild with nothing
# changed.
#
#   hack/bench/incremental.sh [FILES] [ROWS]     (default 100 50000)
#
# Prints a Markdown table and writes it to bin/bench-incremental.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

files=${1:-100}
rows=${2:-50000}
data=bin/bench-data/inc-${files}x${rows}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

go build -o bin/mldata ./cmd/mldata
go build -o bin/gendata ./hack/gendata
if [ ! -f "$data/.complete" ]; then
  rm -rf "$data" && mkdir -p "$data"
  for i in $(seq -w 1 "$files"); do
    bin/gendata -rows "$rows" -seed "$((10#$i))" -o "$data/part-$i.csv"
  done
  touch "$data/.complete"
fi

# run NAME ARGS...: times one build and prints a table row from its manifest.
last=""
run() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  bin/mldata build --source "$data" --include '*.csv' --output "$out" --compression zstd --json "$@" >"$out/m.json" 2>/dev/null
  t1=$(date +%s.%N)
  last=$(python3 - "$name" "$t0" "$t1" "$out/m.json" "$last" <<'PY'
import json, sys
name, t0, t1, path, last = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
m = json.load(open(path))
files = m["source"]["files"]
if m["build_id"] == last:  # up to date: nothing read, nothing published
    processed, reused = 0, len(files)
else:
    reused = sum(1 for f in files if f.get("reused"))
    processed = len(files) - reused
rows = sum(s["rows"] for s in m["splits"])
print(f"| {name} | {t1 - t0:.2f} | {processed} | {reused} | {rows} |", file=sys.stderr)
print(m["build_id"])
PY
)
}

{
  echo "| rebuild | seconds | files processed | files reused | rows |"
  echo "|---|---:|---:|---:|---:|"
  run "full ($files files × $rows rows)" --full
  # One file changes: a new seed gives new content of the same shape.
  bin/gendata -rows "$rows" -seed 999999 -o "$data/part-$(printf '%0*d' ${#files} 1).csv"
  rm -f "$data/.complete"   # the cached data no longer matches its seeds
  run "one file changed"
  run "nothing changed"
} 2>&1 | tee bin/bench-incremental.md
