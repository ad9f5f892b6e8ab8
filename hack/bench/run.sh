#!/usr/bin/env bash
# Benchmarks mldata against DuckDB and Polars on the same machine and the same files.
#
#   hack/bench/run.sh [ROWS...]      default: $ROWS, else "1000000 5000000"
#
# For each row count it generates (once, cached under bin/bench-data/) a baseline and a drifted
# current table with bin/gendata, each as CSV and as Parquet, then runs six workloads with every
# tool under /usr/bin/time (wall seconds, user + system CPU seconds, peak RSS):
#
#   profile-parquet  profile the baseline Parquet file
#   profile-csv      profile the same data as CSV
#   build            CSV -> one Parquet dataset, zstd (mldata build --split all=1)
#   split            Parquet -> train/validation/test Parquet, snappy, 80/10/10 by id
#   drift-parquet    drift of the current Parquet file against the baseline
#   drift-csv        the same as CSV
#
# ROUNDS rounds run one after the other; a round runs every workload once with every tool,
# the tool order rotated by one each round, so slow phases of a shared machine spread over all
# tools. The report gives the median of the rounds per cell and checks the outputs of the
# first round with verify.mjs (row counts, columns, split shares, report fields). It prints
# Markdown and writes it to bin/bench-results.md; every single run is in bin/bench-runs.tsv.
# A failing tool shows as "failed" in its cell; the run carries on. See hack/bench/README.md
# for what each workload computes in each tool.
#
# Environment:
#   ROUNDS     rounds per row count (default 3)
#   MLDATA     mldata binaries to run, space-separated, each PATH or LABEL=PATH; default: build
#              bin/mldata with `make build` and label it "mldata". Two binaries compare a change:
#                MLDATA="main=/tmp/mldata-main new=bin/mldata" hack/bench/run.sh 1000000
#              (MLDATA_BIN, the older name, is read when MLDATA is unset.)
#   TOOLS      which of mldata, duckdb, polars to run (default all three)
#   WORKLOADS  which workloads to run (default all six, in the order above)
#   THREADS    threads for every tool (default: nproc)
#   SEED, CUR_SEED, DRIFT   generator settings (defaults 1, 2, 0.2)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [[ $# -gt 0 ]]; then
	rows_list=("$@")
else
	read -r -a rows_list <<<"${ROWS:-1000000 5000000}"
fi
rounds="${ROUNDS:-3}"
for r in "${rows_list[@]}" "$rounds"; do
	if ! [[ $r =~ ^[1-9][0-9]*$ ]]; then
		echo "run.sh: row counts and ROUNDS must be positive integers, got '$r'" >&2
		exit 2
	fi
done

seed="${SEED:-1}"
cur_seed="${CUR_SEED:-2}"
drift="${DRIFT:-0.2}"
threads="${THREADS:-$(nproc)}"
read -r -a workloads <<<"${WORKLOADS:-profile-parquet profile-csv build split drift-parquet drift-csv}"
read -r -a want_tools <<<"${TOOLS:-mldata duckdb polars}"
split_spec="train=0.8,validation=0.1,test=0.1"
export MLDATA_BENCH_THREADS="$threads"

bench="$root/hack/bench"
data="$root/bin/bench-data"
work="$root/bin/bench-work"
logs="$root/bin/bench-logs"
results="$root/bin/bench-results.md"
runs="$root/bin/bench-runs.tsv"

mkdir -p "$data" "$logs"
rm -rf "$work"
trap 'rm -rf "$work"' EXIT

log() { printf '%s\n' "$*" >&2; }

for w in "${workloads[@]}"; do
	case $w in
	profile-parquet | profile-csv | build | split | drift-parquet | drift-csv) ;;
	*) log "run.sh: unknown workload '$w'"; exit 2 ;;
	esac
done

# Tools: every mldata binary (label -> path), then duckdb and polars.
tools=()
declare -A mldata_path=()
for t in "${want_tools[@]}"; do
	case $t in
	mldata)
		spec="${MLDATA:-${MLDATA_BIN:-}}"
		if [[ -z $spec ]]; then
			log "building bin/mldata (make build)"
			make --no-print-directory build >"$logs/mldata-build.log" 2>&1 || {
				log "make build failed (see bin/bench-logs/mldata-build.log)"
				exit 1
			}
			spec="mldata=$root/bin/mldata"
		fi
		for entry in $spec; do
			if [[ $entry == *=* ]]; then label="${entry%%=*}" path="${entry#*=}"; else label=mldata path="$entry"; fi
			[[ -z ${mldata_path[$label]:-} ]] || { log "run.sh: two mldata binaries labelled '$label'; use LABEL=PATH"; exit 2; }
			[[ $label != duckdb && $label != polars ]] || { log "run.sh: '$label' names another tool; pick another LABEL"; exit 2; }
			path="$(realpath -m "$path")"
			[[ -x $path ]] || { log "run.sh: mldata binary $path is not an executable"; exit 2; }
			mldata_path[$label]="$path"
			tools+=("$label")
		done
		;;
	duckdb | polars) tools+=("$t") ;;
	*) log "run.sh: unknown tool '$t' (want mldata, duckdb or polars)"; exit 2 ;;
	esac
done
is_mldata() { [[ -n ${mldata_path[$1]:-} ]]; }

log "building bin/gendata"
go build -o "$root/bin/gendata" ./hack/gendata

if [[ ! -d "$bench/node_modules" ]]; then
	log "installing DuckDB and Polars (npm ci)"
	(cd "$bench" && npm ci --no-audit --no-fund)
fi

# The generator's source digest is part of the cache key, so a changed generator never
# benchmarks stale data.
gen_id="$(cat hack/gendata/main.go hack/gendata/parquet.go | sha256sum | cut -c1-12)"

# generate FILE ARGS... writes FILE with gendata unless it is already cached. gendata renames
# its output into place, so an interrupted run leaves no half-written file behind.
generate() {
	local file=$1
	shift
	if [[ ! -s $file ]]; then
		log "generating ${file#"$root"/}"
		"$root/bin/gendata" "$@" -o "$file"
	fi
}

# measure LOG CMD...: runs CMD under /usr/bin/time; sets m_rc, m_secs, m_cpu and m_mib.
measure() {
	local logfile=$1 tf usr sys kib
	shift
	tf="$(mktemp)"
	m_rc=0
	/usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >"$logfile" 2>&1 || m_rc=$?
	# time writes "Command exited with non-zero status N" before the figures on failure.
	read -r m_secs kib usr sys < <(tail -n 1 "$tf") || true
	rm -f "$tf"
	# CPU seconds (user + system) move less than wall seconds when other work shares the cores.
	m_cpu="$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
	m_mib="$(awk -v k="$kib" 'BEGIN { printf "%.0f", k / 1024 }')"
}

# command_for TOOL WORKLOAD: sets cmd (the command line), verify (verify.mjs arguments), inputs
# (files to have in the page cache) and ok_rc (an exit code that also means success).
command_for() {
	local tool=$1 workload=$2 out="$work/out" input base cur
	ok_rc=0
	case $workload in
	profile-parquet) input="$base_pq" inputs=("$base_pq") ;;
	profile-csv) input="$base_csv" inputs=("$base_csv") ;;
	build) input="$base_csv" inputs=("$base_csv") ;;
	split) input="$base_pq" inputs=("$base_pq") ;;
	drift-parquet) base="$base_pq" cur="$cur_pq" inputs=("$base_pq" "$cur_pq") ;;
	drift-csv) base="$base_csv" cur="$cur_csv" inputs=("$base_csv" "$cur_csv") ;;
	esac
	case $workload in
	profile-*) verify=(profile "$out/profile.json" "$rows") ;;
	build) verify=(parquet "$out" "$rows" all=1) ;;
	split) verify=(parquet "$out" "$rows" "$split_spec") ;;
	drift-*) verify=(drift "$out/drift.json" "$rows") ;;
	esac
	if is_mldata "$tool"; then
		local m="${mldata_path[$tool]}"
		case $workload in
		profile-*) cmd=("$m" profile "$input" --output "$out/profile.json" --workers "$threads") ;;
		build) cmd=("$m" build --source "$input" --output "$out" --split all=1 --compression zstd --workers "$threads") ;;
		split) cmd=("$m" build --source "$input" --output "$out" --split "$split_spec" --split-key id --compression snappy --workers "$threads") ;;
		# Exit 3 is "drift found" in builds that signal it by default; the current file drifts.
		drift-*) cmd=("$m" drift "$base" "$cur" --output "$out/drift.json" --workers "$threads") ok_rc=3 ;;
		esac
	else
		case $workload in
		profile-*) cmd=(node "$bench/$tool.mjs" profile "$input" "$out/profile.json") ;;
		build | split) cmd=(node "$bench/$tool.mjs" "$workload" "$input" "$out") ;;
		drift-*) cmd=(node "$bench/$tool.mjs" drift "$base" "$cur" "$out/drift.json") ;;
		esac
	fi
}

machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, threads=$threads"
versions="$(go version | cut -d' ' -f3), node $(node --version), DuckDB $(node -p "require('$bench/node_modules/@duckdb/node-api/package.json').version"), nodejs-polars $(node -p "require('$bench/node_modules/nodejs-polars/package.json').version")"
for t in "${tools[@]}"; do
	is_mldata "$t" && versions+=", $t $("${mldata_path[$t]}" version 2>/dev/null | head -n 1 || echo '?') (${mldata_path[$t]#"$root"/})"
done
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# The report: per row count, one line per workload, a "wall s · CPU s · MiB" cell per tool
# (medians over the rounds; "failed" when any round failed), and for each mldata binary its
# wall time, CPU time and peak RSS divided by the better of DuckDB and Polars.
report() {
	echo "# mldata benchmark"
	echo
	echo "Started $started; $machine."
	echo "$versions."
	local r progress=""
	for r in "${rows_list[@]}"; do progress+=" ${r} rows: ${rounds_done[$r]:-0} of $rounds;"; done
	echo "Median of the interleaved rounds per cell (rounds done:${progress%;}): wall seconds · CPU seconds (user + system) · peak RSS MiB."
	echo
	awk -F'\t' -v tools="${tools[*]}" -v mls="$(for t in "${tools[@]}"; do is_mldata "$t" && printf '%s ' "$t"; done)" -v order="startup ${workloads[*]}" '
		function median(list,   a, n, i, j, t) {
			n = split(list, a, " ")
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n/2] + a[n/2 + 1]) / 2
		}
		NR == 1 { next }
		{
			k = $1 SUBSEP $2 SUBSEP $3
			if ($8 != 0) bad[k] = 1
			wall[k] = wall[k] " " $5; cpu[k] = cpu[k] " " $6; rss[k] = rss[k] " " $7
			if (!($1 in seen)) { seen[$1] = 1; rowsOrder[++nr] = $1 }
		}
		END {
			nt = split(tools, T, " "); nm = split(mls, M, " "); nw = split(order, W, " ")
			names["profile-parquet"] = "profile a Parquet file"
			names["profile-csv"] = "profile the same data as CSV"
			names["build"] = "CSV → Parquet zstd (`build --split all=1`)"
			names["split"] = "split 80/10/10 by `id`, Parquet → Parquet snappy"
			names["drift-parquet"] = "drift, two Parquet files"
			names["drift-csv"] = "drift, two CSV files"
			names["startup"] = "start-up only (no data)"
			for (r = 1; r <= nr; r++) {
				R = rowsOrder[r]
				printf "### %s rows\n\n| workload |", R
				for (t = 1; t <= nt; t++) printf " %s |", T[t]
				for (m = 1; m <= nm; m++) printf " %s ÷ best, wall | ÷ best, CPU | ÷ lowest, RSS |", M[m]
				printf "\n|---|"
				for (t = 1; t <= nt; t++) printf "---:|"
				for (m = 1; m <= nm; m++) printf "---:|---:|---:|"
				printf "\n"
				for (w = 1; w <= nw; w++) {
					if (!((R SUBSEP W[w] SUBSEP T[1]) in wall)) continue
					printf "| %s |", names[W[w]]
					bestW = ""; bestC = ""; bestR = ""; split("", mw); split("", mc); split("", mr)
					for (t = 1; t <= nt; t++) {
						k = R SUBSEP W[w] SUBSEP T[t]
						if (!(k in wall)) { printf " n/a |"; continue }
						if (bad[k]) { printf " failed |"; mw[T[t]] = ""; continue }
						mw[T[t]] = median(wall[k]); mc[T[t]] = median(cpu[k]); mr[T[t]] = median(rss[k])
						printf " %.2f · %.2f · %d |", mw[T[t]], mc[T[t]], mr[T[t]]
						if (T[t] == "duckdb" || T[t] == "polars") {
							if (bestW == "" || mw[T[t]] < bestW) bestW = mw[T[t]]
							if (bestC == "" || mc[T[t]] < bestC) bestC = mc[T[t]]
							if (bestR == "" || mr[T[t]] < bestR) bestR = mr[T[t]]
						}
					}
					for (m = 1; m <= nm; m++) {
						if (mw[M[m]] == "" || bestW == "" || bestW == 0 || bestC == 0) printf " – | – | – |"
						else printf " %.2f× | %.2f× | %.2f× |", mw[M[m]] / bestW, mc[M[m]] / bestC, mr[M[m]] / bestR
					}
					printf "\n"
				}
				printf "\n"
			}
		}' "$runs"
	echo "Output checks (round 1, verify.mjs; logs in bin/bench-logs/):"
	echo
	printf '%s\n' "${checks[@]}"
}
declare -A rounds_done=()
printf 'rows\tworkload\ttool\tround\twall_s\tcpu_s\tpeak_rss_mib\texit\n' >"$runs"
checks=()

# run_one ROWS WORKLOAD TOOL ROUND: one measured run in a fresh work directory with the
# inputs in the page cache; appends to bench-runs.tsv; checks the output in round 1.
run_one() {
	local workload=$2 tool=$3 round=$4 logfile verdict
	logfile="$logs/r$rows-$workload-$tool-$round.log"
	command_for "$tool" "$workload"
	rm -rf "$work"
	mkdir -p "$work"
	cat "${inputs[@]}" >/dev/null
	measure "$logfile" "${cmd[@]}"
	[[ $m_rc -eq $ok_rc ]] && m_rc=0
	log "  $workload $tool: ${m_secs}s wall, ${m_cpu}s CPU, ${m_mib} MiB, exit $m_rc"
	if [[ $m_rc -ne 0 ]]; then
		checks+=("- $rows $workload $tool round $round: FAILED, exit $m_rc: $(tail -n 1 "$logfile")")
	elif [[ $round == 1 ]]; then
		if verdict="$(node "$bench/verify.mjs" "${verify[@]}" 2>&1)"; then
			checks+=("- $rows $workload $tool: $verdict")
		else
			m_rc=99
			checks+=("- $rows $workload $tool: $verdict")
		fi
		log "    $verdict"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rows" "$workload" "$tool" "$round" "$m_secs" "$m_cpu" "$m_mib" "$m_rc" >>"$runs"
}

for rows in "${rows_list[@]}"; do
	base_csv="$data/base-r$rows-s$seed-g$gen_id.csv"
	cur_csv="$data/cur-r$rows-s$cur_seed-d$drift-g$gen_id.csv"
	base_pq="${base_csv%.csv}.parquet"
	cur_pq="${cur_csv%.csv}.parquet"
	generate "$base_csv" -rows "$rows" -seed "$seed" -format csv
	generate "$cur_csv" -rows "$rows" -seed "$cur_seed" -drift "$drift" -format csv
	generate "$base_pq" -rows "$rows" -seed "$seed" -format parquet
	generate "$cur_pq" -rows "$rows" -seed "$cur_seed" -drift "$drift" -format parquet

	for ((round = 1; round <= rounds; round++)); do
		log "rows=$rows round $round/$rounds"
		# Start-up cost (process start, library load) once per round, outside the table's
		# workloads: it is part of every figure below, most visibly for Node and DuckDB.
		for ((i = 0; i < ${#tools[@]}; i++)); do
			tool="${tools[(i + round - 1) % ${#tools[@]}]}"
			if is_mldata "$tool"; then cmd=("${mldata_path[$tool]}" version); else cmd=(node "$bench/$tool.mjs" startup); fi
			measure "$logs/startup-$tool.log" "${cmd[@]}"
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rows" startup "$tool" "$round" "$m_secs" "$m_cpu" "$m_mib" "$m_rc" >>"$runs"
		done
		for workload in "${workloads[@]}"; do
			for ((i = 0; i < ${#tools[@]}; i++)); do
				run_one "$rows" "$workload" "${tools[(i + round - 1) % ${#tools[@]}]}" "$round"
			done
		done
		# The report so far, so that an interrupted run keeps the rounds it finished.
		rounds_done[$rows]=$round
		report >"$results"
	done
done
rm -rf "$work"

report >"$results"
cat "$results"
