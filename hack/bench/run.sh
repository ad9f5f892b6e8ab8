#!/usr/bin/env bash
# Benchmarks mldata against DuckDB and Polars on the same machine and the same files.
#
#   hack/bench/run.sh [ROWS...]      default: 1000000 5000000
#
# For each row count it generates (once, cached under bin/bench-data/) a baseline CSV and a
# drifted current CSV with bin/gendata, then runs the build, split, profile and drift workloads
# with mldata, DuckDB and Polars one after the other, each under /usr/bin/time (wall seconds and
# peak RSS), checks every output with verify.mjs, and prints a Markdown table that is also
# written to bin/bench-results.md. A missing or failing tool shows as n/a or failed in its row;
# the run itself carries on. See hack/bench/README.md for what each workload does in each tool.
#
# Environment: SEED (baseline seed, default 1), CUR_SEED (default 2), DRIFT (default 0.2),
# THREADS (default: all cores), REPEAT (runs per cell, the fastest is reported; default 1),
# WORKLOADS (default "build split profile drift"),
# MLDATA_BIN (benchmark this binary instead of building one).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [[ $# -gt 0 ]]; then rows_list=("$@"); else rows_list=(1000000 5000000); fi
for r in "${rows_list[@]}" "${REPEAT:-1}"; do
	if ! [[ $r =~ ^[1-9][0-9]*$ ]]; then
		echo "run.sh: row counts and REPEAT must be positive integers, got '$r'" >&2
		exit 2
	fi
done

seed="${SEED:-1}"
cur_seed="${CUR_SEED:-2}"
drift="${DRIFT:-0.2}"
threads="${THREADS:-$(nproc)}"
repeat="${REPEAT:-1}"
split_spec="train=0.8,validation=0.1,test=0.1"
export MLDATA_BENCH_THREADS="$threads"

bench="$root/hack/bench"
data="$root/bin/bench-data"
work="$root/bin/bench-work"
logs="$root/bin/bench-logs"
results="$root/bin/bench-results.md"
mldata="$root/bin/mldata"

mkdir -p "$data" "$logs"
rm -rf "$work"
trap 'rm -rf "$work"' EXIT

log() { printf '%s\n' "$*" >&2; }
mib_of() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

log "building bin/gendata"
go build -o "$root/bin/gendata" ./hack/gendata

# mldata's commands are still being written; a binary that does not build makes its rows n/a
# rather than stopping the comparison. A stale binary from an earlier build is never used.
# MLDATA_BIN benchmarks a given binary (a release, say) instead of building one.
mldata_ok=1
if [[ -n ${MLDATA_BIN:-} ]]; then
	mldata="$(realpath -m "$MLDATA_BIN")"
	[[ -x $mldata ]] || { log "MLDATA_BIN=$MLDATA_BIN is not an executable"; mldata_ok=0; }
else
	log "building bin/mldata"
	if ! go build -o "$mldata" ./cmd/mldata >"$logs/mldata-build.log" 2>&1; then
		mldata_ok=0
		rm -f "$mldata"
		log "bin/mldata did not build (see bin/bench-logs/mldata-build.log); its rows will be n/a"
	fi
fi

if [[ ! -d "$bench/node_modules" ]]; then
	log "installing DuckDB and Polars (npm ci)"
	(cd "$bench" && npm ci --no-audit --no-fund)
fi

# The generator's source digest is part of the cache key, so a changed generator never
# benchmarks stale data.
gen_id="$(sha256sum hack/gendata/main.go | cut -c1-12)"

# generate FILE ARGS... writes FILE with gendata unless it is already cached. gendata renames
# its output into place, so an interrupted run leaves no half-written file behind.
generate() {
	local file=$1
	shift
	if [[ ! -s $file ]]; then
		log "generating ${file#"$root"/}"
		"$root/bin/gendata" "$@" -format csv -o "$file"
	fi
}

# measure LOG CMD...: runs CMD under /usr/bin/time; sets m_rc, m_secs, m_cpu and m_kib.
measure() {
	local logfile=$1 tf
	shift
	tf="$(mktemp)"
	m_rc=0
	/usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >"$logfile" 2>&1 || m_rc=$?
	# time writes "Command exited with non-zero status N" before the figures on failure.
	local usr sys
	read -r m_secs m_kib usr sys < <(tail -n 1 "$tf") || true
	# CPU seconds (user + system): comparable even when other work shares the cores.
	m_cpu="$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
	rm -f "$tf"
}

# best_of LOG OK_RC INPUTS... -- CMD...: runs CMD REPEAT times, each time in a fresh work
# directory with the inputs in the page cache, so no run pays for the disk or for an earlier
# run's output. Sets best_secs and best_kib from the fastest run and m_rc to 0 when every run
# exited 0 or OK_RC, else to the failing exit code (and stops).
best_of() {
	local logfile=$1 ok_rc=$2 rep inputs=()
	shift 2
	while [[ $# -gt 0 && $1 != -- ]]; do
		inputs+=("$1")
		shift
	done
	shift
	best_secs=""
	best_cpu=""
	best_kib=""
	for ((rep = 1; rep <= repeat; rep++)); do
		rm -rf "$work"
		mkdir -p "$work"
		[[ ${#inputs[@]} -eq 0 ]] || cat "${inputs[@]}" >/dev/null
		measure "$logfile" "$@"
		[[ $m_rc -eq $ok_rc ]] && m_rc=0
		[[ $m_rc -eq 0 ]] || return 0
		if [[ -z $best_secs ]] || awk -v a="$m_secs" -v b="$best_secs" 'BEGIN { exit !(a < b) }'; then
			best_secs="$m_secs"
			best_cpu="$m_cpu"
			best_kib="$m_kib"
		fi
	done
}

table=()
checks=()
env_line="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') × $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; threads=$threads"
versions="$(go version | cut -d' ' -f3), node $(node --version), duckdb $(node -p "require('$bench/node_modules/@duckdb/node-api/package.json').version"), nodejs-polars $(node -p "require('$bench/node_modules/nodejs-polars/package.json').version")"

# Fixed start-up cost of each tool (process start, library load), so readers can tell it
# apart from the per-row work; it matters most for small inputs.
for tool in mldata duckdb polars; do
	if [[ $tool == mldata ]]; then
		[[ $mldata_ok == 1 ]] || { table+=("| 0 | startup | $tool | n/a | n/a | n/a |"); continue; }
		cmd=("$mldata" version)
	else
		cmd=(node "$bench/$tool.mjs" startup)
	fi
	log "startup $tool"
	best_of "$logs/startup-$tool.log" 0 -- "${cmd[@]}"
	if [[ $m_rc -eq 0 ]]; then
		table+=("| 0 | startup | $tool | $best_secs | $best_cpu | $(mib_of "$best_kib") |")
	else
		table+=("| 0 | startup | $tool | failed | failed | failed |")
		checks+=("- startup $tool: FAILED, exit $m_rc: $(tail -n 1 "$logs/startup-$tool.log")")
	fi
done

for rows in "${rows_list[@]}"; do
	base="$data/base-r$rows-s$seed-g$gen_id.csv"
	cur="$data/cur-r$rows-s$cur_seed-d$drift-g$gen_id.csv"
	generate "$base" -rows "$rows" -seed "$seed"
	generate "$cur" -rows "$rows" -seed "$cur_seed" -drift "$drift"

	for workload in ${WORKLOADS:-build split profile drift}; do
		for tool in mldata duckdb polars; do
			out="$work/out"
			logfile="$logs/r$rows-$workload-$tool.log"
			case $workload in
			build | split) verify=(parquet "$out" "$rows") ;;
			profile) verify=(profile "$out/profile.json" "$rows") ;;
			drift) verify=(drift "$out/drift.json" "$rows") ;;
			esac
			case $workload in
			build) verify+=(all=1) ;;
			split) verify+=("$split_spec") ;;
			esac

			case $tool/$workload in
			mldata/build) cmd=("$mldata" build --source "$base" --output "$out" --split all=1 --compression zstd --workers "$threads") ;;
			mldata/split) cmd=("$mldata" build --source "$base" --output "$out" --split "$split_spec" --split-key id --compression zstd) ;;
			mldata/profile) cmd=("$mldata" profile "$base" --output "$out/profile.json") ;;
			mldata/drift) cmd=("$mldata" drift "$base" "$cur" --output "$out/drift.json") ;;
			*/drift) cmd=(node "$bench/$tool.mjs" drift "$base" "$cur" "$out/drift.json") ;;
			*/profile) cmd=(node "$bench/$tool.mjs" profile "$base" "$out/profile.json") ;;
			*) cmd=(node "$bench/$tool.mjs" "$workload" "$base" "$out") ;;
			esac

			secs=n/a
			cpu=n/a
			mib=n/a
			if [[ $tool == mldata && $mldata_ok == 0 ]]; then
				checks+=("- $rows $workload $tool: n/a (no mldata binary)")
				table+=("| $rows | $workload | $tool | $secs | $cpu | $mib |")
				continue
			fi

			log "r=$rows $workload $tool"
			# mldata drift exits 3 when it detects drift, which the drifted file is made to cause.
			ok_rc=0
			[[ $tool == mldata && $workload == drift ]] && ok_rc=3
			best_of "$logfile" "$ok_rc" "$base" "$cur" -- "${cmd[@]}"
			if [[ $m_rc -ne 0 ]]; then
				if [[ $tool == mldata ]] && { [[ $m_rc -eq 2 ]] || grep -qiE 'unknown (command|flag|shorthand flag)' "$logfile"; }; then
					checks+=("- $rows $workload $tool: n/a ($(grep -m1 -iE 'unknown|usage|mldata:' "$logfile" || echo "exit $m_rc"))")
				else
					secs=failed
					cpu=failed
					mib=failed
					checks+=("- $rows $workload $tool: FAILED, exit $m_rc: $(tail -n 1 "$logfile")")
				fi
				table+=("| $rows | $workload | $tool | $secs | $cpu | $mib |")
				continue
			fi

			if verdict="$(node "$bench/verify.mjs" "${verify[@]}" 2>&1)"; then
				secs="$best_secs"
				cpu="$best_cpu"
				mib="$(mib_of "$best_kib")"
			else
				secs="failed"
				cpu="failed"
				mib="failed"
			fi
			checks+=("- $rows $workload $tool: $verdict")
			table+=("| $rows | $workload | $tool | $secs | $cpu | $mib |")
			log "  ${secs}s ${mib} MiB; $verdict"
		done
	done
done
rm -rf "$work"

{
	echo "# mldata benchmark"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $env_line"
	echo "$versions; fastest of $repeat run(s) per cell"
	echo
	echo "| rows | workload | tool | seconds | CPU seconds | peak RSS MiB |"
	echo "|---:|---|---|---:|---:|---:|"
	printf '%s\n' "${table[@]}"
	echo
	echo "Output checks (verify.mjs; logs in bin/bench-logs/):"
	echo
	printf '%s\n' "${checks[@]}"
} >"$results"
cat "$results"
