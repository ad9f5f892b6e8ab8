#!/usr/bin/env bash
# Benchmarks sharded builds, each phase a process limited to one core as a
# pod with a 1-CPU limit would be: GOMAXPROCS=1, --workers 1, and pinned
# with taskset (shard i to core i mod the machine's cores; the plan and the
# commit to core 0).
#
#   hack/bench/shards.sh [ROWS] [FILES]      (default 5000000 40)
#
# 1. Scale: a source of FILES CSV files and ROWS rows in all — FILES-1
#    files of equal size and one of a fifth of the rows, cut into 4 byte
#    ranges — built with shards = 1, 2 and 4 (SHARDS="1 2 4"). It reports
#    each phase's wall and CPU seconds, each shard's time, CPU, memory and
#    the source bytes it read, and checks that every shard count publishes
#    the same part files byte for byte.
# 2. Commit vs files: sources of 40, 1,000 and 10,000 files of 100 rows
#    (COMMIT_FILES="40 1000 10000"; empty skips it), planned for 4 shards: the commit's wall
#    and CPU time without and with the split check (which reads every part
#    back), the plan's and the manifest's sizes.
# 3. With UNIQUE=COLUMN, a build of the scale source with a unique rule on
#    COLUMN: what the shards send the commit and what the commit costs.
#
# Generated sources are kept under BENCH_DATA (default bin/bench-data) and
# reused. Prints Markdown tables and writes them to bin/bench-shards.md. On
# a machine with fewer cores than shards, or shared with other work, wall
# times say little; CPU seconds and the per-shard figures still do.
set -euo pipefail
cd "$(dirname "$0")/../.."

rows=${1:-5000000}
files=${2:-40}
root=${BENCH_DATA:-bin/bench-data}
shard_counts=${SHARDS-1 2 4}
commit_files=${COMMIT_FILES-40 1000 10000}
ncpu=$(nproc)
work=$(mktemp -d "${TMPDIR:-/tmp}/mldata-bench-shards.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o bin/mldata ./cmd/mldata
gendata=bin/gendata
[ -x "$gendata" ] || go build -o "$gendata" ./hack/gendata

# The scale source: one file of a fifth of the rows, the others equal.
small=$(((rows - rows / 5) / (files - 1)))
big=$((rows - small * (files - 1)))
data=$root/shards-${rows}r-${files}f
if [ ! -f "$data/.complete" ]; then
  rm -rf "$data" && mkdir -p "$data"
  for i in $(seq -w 1 $((files - 1))); do
    "$gendata" -rows "$small" -seed "$((10#$i))" -o "$data/part-$i.csv"
  done
  "$gendata" -rows "$big" -seed 999 -o "$data/zbig.csv"
  touch "$data/.complete"
fi
bytes=$(cat "$data"/*.csv | wc -c)
# Ranges of about a quarter of the big file, so that it spreads.
range=$(($(stat -c %s "$data/zbig.csv") / 4))

# timed NAME CORE CMD...: runs CMD on one core with GOMAXPROCS=1, its stdout
# in $work/NAME.out; appends "NAME wall user sys maxrss_kb" to $work/times.
timed() {
  local name=$1 core=$2
  shift 2
  /usr/bin/time -o "$work/$name.time" -f "%e %U %S %M" taskset -c "$core" env GOMAXPROCS=1 "$@" >"$work/$name.out" 2>"$work/$name.err" ||
    { tail -n 3 "$work/$name.err" >&2; return 1; }
  echo "$name $(cat "$work/$name.time")" >>"$work/times"
}

summary=$work/summary.jsonl
# Each run's figures as JSON lines, kept next to the table.
results=bin/bench-shards.jsonl
for n in $shard_counts; do
  out=$work/out-$n
  rm -f "$work/times"
  args=(build --source "$data" --include '*.csv' --output "$out" --build-id bench --chunk-rows 16384 --part-rows 65536 --compression zstd --workers 1)
  t0=$(date +%s.%N)
  timed plan 0 bin/mldata "${args[@]}" --plan-only --shards "$n" --range-bytes "$range"
  t1=$(date +%s.%N)
  pids=()
  for i in $(seq 0 $((n - 1))); do
    timed "shard$i" $((i % ncpu)) bin/mldata "${args[@]}" --shard "$i/$n" --json &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t2=$(date +%s.%N)
  planbytes=$(stat -c %s "$out/staging/bench/plan.json")
  timed commit 0 bin/mldata "${args[@]}" --commit
  t3=$(date +%s.%N)
  sum=$( (cd "$out/builds/bench" && find . -name 'part-*' -type f | sort | xargs sha256sum) | sha256sum | cut -c1-16)
  outbytes=$(du -sb "$out/builds/bench" | cut -f1)
  python3 - "$n" "$t0" "$t1" "$t2" "$t3" "$work" "$sum" "$planbytes" "$outbytes" >>"$summary" <<'PY'
import json, sys
n, t0, t1, t2, t3, work, digest, planbytes, outbytes = int(sys.argv[1]), *map(float, sys.argv[2:6]), sys.argv[6], sys.argv[7], int(sys.argv[8]), int(sys.argv[9])
times = {}
for line in open(f"{work}/times"):
    name, wall, user, sys_, rss = line.split()
    times[name] = {"wall": float(wall), "cpu": float(user) + float(sys_), "rss_mib": int(rss) / 1024}
shards = []
for i in range(n):
    res = json.load(open(f"{work}/shard{i}.out"))
    s = dict(times[f"shard{i}"])
    s["rows"] = sum(r["rows"] for r in res.get("results") or [])
    s["bytes_read"] = res.get("bytes_read", 0)
    shards.append(s)
print(json.dumps({"n": n, "wall": t3 - t0, "plan": times["plan"], "shards_wall": t2 - t1, "shards": shards,
                  "commit": times["commit"], "commit_wall": t3 - t2, "digest": digest, "plan_bytes": planbytes, "out_bytes": outbytes}))
PY
  rm -rf "$out"
done

# Commit vs number of files: F files of 100 rows, 4 shards.
csummary=$work/commit.jsonl
for nf in $commit_files; do
  cdata=$root/shards-small-${nf}f
  if [ ! -f "$cdata/.complete" ]; then
    rm -rf "$cdata" && mkdir -p "$cdata"
    "$gendata" -rows $((nf * 100)) -seed 7 -o "$work/all.csv"
    awk -v dir="$cdata" 'NR == 1 { h = $0; next }
      { f = sprintf("%s/f-%06d.csv", dir, int((NR - 2) / 100)); if (f != cur) { if (cur) close(cur); cur = f; print h > f } print > f }' "$work/all.csv"
    rm -f "$work/all.csv"
    touch "$cdata/.complete"
  fi
  # The commit with and without the split check, which reads every part
  # back (--check-splits, on by default).
  for chk in false true; do
    out=$work/cout-$nf
    rm -f "$work/times"
    args=(build --source "$cdata" --include '*.csv' --output "$out" --build-id bench --compression zstd --workers 1 --check-splits="$chk")
    timed plan 0 bin/mldata "${args[@]}" --plan-only --shards 4
    for i in 0 1 2 3; do timed "shard$i" $((i % ncpu)) bin/mldata "${args[@]}" --shard "$i/4"; done
    planbytes=$(stat -c %s "$out/staging/bench/plan.json")
    failed=
    # A failed commit is reported in the table, not fatal.
    timed commit 0 bin/mldata "${args[@]}" --commit || failed=$(tail -n 1 "$work/commit.err")
    python3 - "$nf" "$chk" "$work" "$planbytes" "$(stat -c %s "$out/builds/bench/manifest.json" 2>/dev/null || echo 0)" "$failed" >>"$csummary" <<'PY'
import json, sys
nf, chk, work, planbytes, manbytes, failed = int(sys.argv[1]), sys.argv[2] == "true", sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
if failed:
    print(json.dumps({"files": nf, "check": chk, "failed": failed, "plan_bytes": planbytes}))
    sys.exit()
t = {}
for line in open(f"{work}/times"):
    name, wall, user, sys_, rss = line.split()
    t[name] = {"wall": float(wall), "cpu": float(user) + float(sys_), "rss_mib": int(rss) / 1024}
print(json.dumps({"files": nf, "check": chk, "plan": t["plan"], "shards_cpu": sum(v["cpu"] for k, v in t.items() if k.startswith("shard")),
                  "commit": t["commit"], "plan_bytes": planbytes, "manifest_bytes": manbytes}))
PY
    rm -rf "$out"
  done
done

# With UNIQUE=COLUMN: one more build of the scale source, 4 shards, with a
# unique rule on COLUMN and the split check off: the size of the shards'
# results (every distinct key travels to the commit) and the commit's cost.
usummary=$work/unique.jsonl
if [ -n "${UNIQUE:-}" ]; then
  out=$work/uout
  rm -f "$work/times"
  printf -- '- type: unique\n  column: %s\n' "$UNIQUE" >"$work/rules.yaml"
  args=(build --source "$data" --include '*.csv' --output "$out" --build-id bench --chunk-rows 16384 --part-rows 65536 --compression zstd --workers 1
    --rules "$work/rules.yaml" --on-failure warn --check-splits=false)
  timed plan 0 bin/mldata "${args[@]}" --plan-only --shards 4 --range-bytes "$range"
  pids=()
  for i in 0 1 2 3; do
    timed "shard$i" $((i % ncpu)) bin/mldata "${args[@]}" --shard "$i/4" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  staged=$(cat "$out"/staging/bench/shard-*.json | wc -c)
  timed commit 0 bin/mldata "${args[@]}" --commit
  python3 - "$UNIQUE" "$work" "$staged" >>"$usummary" <<'PY'
import json, sys
col, work, staged = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = {}
for line in open(f"{work}/times"):
    name, wall, user, sys_, rss = line.split()
    t[name] = {"wall": float(wall), "cpu": float(user) + float(sys_), "rss_mib": int(rss) / 1024}
sh = [v for k, v in t.items() if k.startswith("shard")]
print(json.dumps({"unique": col, "shard_cpu": sum(v["cpu"] for v in sh), "shard_rss_mib": max(v["rss_mib"] for v in sh),
                  "results_bytes": staged, "commit": t["commit"]}))
PY
  rm -rf "$out"
fi

touch "$summary" "$csummary" "$usummary"
cat "$summary" "$csummary" "$usummary" >"$results"
python3 - "$summary" "$csummary" "$rows" "$files" "$bytes" "$ncpu" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$usummary" <<'PY' | tee bin/bench-shards.md
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
commits = [json.loads(l) for l in open(sys.argv[2])]
rows, files, size, ncpu, load, when = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7], sys.argv[8]
mib = size / 2**20
print(f"Source: {files} CSV files, {rows:,} rows, {mib:.0f} MiB; each phase one process on one core "
      f"(GOMAXPROCS=1, --workers 1, taskset); {ncpu} cores, load average {load} (shared machine), {when}.\n")
print("| shards | wall s | plan wall / CPU s | shards wall s | shard CPU s: sum (largest) | commit wall / CPU s | max RSS MiB (a shard) | parts identical to shards=1 |")
print("|---|---|---|---|---|---|---|---|")
first = runs[0]["digest"] if runs else None
for r in runs:
    cpus = [s["cpu"] for s in r["shards"]]
    print(f"| {r['n']} | {r['wall']:.1f} | {r['plan']['wall']:.1f} / {r['plan']['cpu']:.1f} | {r['shards_wall']:.1f} | "
          f"{sum(cpus):.1f} ({max(cpus):.1f}) | {r['commit']['wall']:.2f} / {r['commit']['cpu']:.2f} | "
          f"{max(s['rss_mib'] for s in r['shards']):.0f} | {'yes' if r['digest'] == first else 'NO'} |")
print("\nPer shard (wall and CPU seconds, rows, source MiB read):\n")
print("| shards | shard | wall s | CPU s | rows | MiB read | max RSS MiB |")
print("|---|---|---|---|---|---|---|")
for r in runs:
    for i, s in enumerate(r["shards"]):
        print(f"| {r['n']} | {i} | {s['wall']:.1f} | {s['cpu']:.1f} | {s['rows']:,} | {s['bytes_read'] / 2**20:.1f} | {s['rss_mib']:.0f} |")
one = next((r for r in runs if r["n"] == 1), None)
if one:
    cpu = one["shards"][0]["cpu"]
    print(f"\nPer core (shards = 1): a shard {rows / cpu:,.0f} rows/s, {mib / cpu:.1f} MiB/s of CSV; "
          f"the plan {mib / one['plan']['cpu']:.0f} MiB/s. Output: {one['out_bytes'] / 2**20:.0f} MiB of Parquet; plan.json {one['plan_bytes'] / 1024:.0f} KiB.")
    for r in runs:
        if r["n"] > 1:
            big = max(s["cpu"] for s in r["shards"])
            print(f"shards = {r['n']}: critical path (largest shard's CPU) {cpu / big:.2f}x shorter than shards = 1; "
                  f"total shard CPU {sum(s['cpu'] for s in r['shards']) / cpu:.2f}x.")
if commits:
    print("\nCommit vs number of files (100 rows each, 4 shards; the commit without and with the split check, which reads every part back):\n")
    print("| files | plan wall / CPU s | shards CPU s (sum) | commit wall / CPU s | commit with split check wall / CPU s | commit max RSS MiB (with check) | plan.json KiB | manifest KiB |")
    print("|---|---|---|---|---|---|---|---|")
    by = {}
    for c in commits:
        by.setdefault(c["files"], {})[c["check"]] = c
    commit = lambda c: f"failed: {c['failed']}" if "failed" in c else f"{c['commit']['wall']:.2f} / {c['commit']['cpu']:.2f}"
    for nf, v in by.items():
        a, b = v.get(False), v.get(True)
        if not a or not b or "failed" in a:
            continue
        rss = "" if "failed" in b else f"{b['commit']['rss_mib']:.0f}"
        print(f"| {nf:,} | {a['plan']['wall']:.1f} / {a['plan']['cpu']:.1f} | {a['shards_cpu']:.1f} | "
              f"{commit(a)} | {commit(b)} | {rss} | {a['plan_bytes'] / 1024:.0f} | {a['manifest_bytes'] / 1024:.0f} |")
uniq = [json.loads(l) for l in open(sys.argv[9])]
for u in uniq:
    c = u["commit"]
    print(f"\nWith unique({u['unique']}), 4 shards, no split check: shards {u['shard_cpu']:.1f} CPU s (max RSS {u['shard_rss_mib']:.0f} MiB), "
          f"their results {u['results_bytes'] / 2**20:.0f} MiB; commit {c['wall']:.1f} s wall, {c['cpu']:.1f} CPU s, max RSS {c['rss_mib']:.0f} MiB.")
PY
