#!/usr/bin/env bash
# Runs a local S3 server (versitygw, posix backend) for the demo and the
# end-to-end tests: 127.0.0.1:${S3_PORT:-9000}, objects stored as plain files
# under ${STORAGE_DIR:-<repo>/bin/s3data}/<bucket>/<key>, fixed development
# credentials.
#
# Usage: hack/storage/s3.sh start|stop|status|env
#   start   start the server unless it already runs (builds versitygw with
#           hack/storage/install.sh if needed), then create the buckets named
#           in S3_BUCKETS (comma- or space-separated, default mldata-samples)
#   stop    stop the server started by start (by the PID in its pid file)
#   status  say whether it runs; exit 1 if not
#   env     print shell exports for clients: eval "$(hack/storage/s3.sh env)"
#
# Environment: S3_PORT, STORAGE_DIR, S3_BUCKETS, S3_ACCESS_KEY, S3_SECRET_KEY.
# The pid file and log sit beside the data directory (<dir>.pid, <dir>.log).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${S3_PORT:-9000}
data=${STORAGE_DIR:-$root/bin/s3data}
data=${data%/}
buckets=${S3_BUCKETS:-mldata-samples}
access=${S3_ACCESS_KEY:-mldata-dev}
secret=${S3_SECRET_KEY:-mldata-dev-secret}
region=us-east-1
endpoint=http://127.0.0.1:$port
pidfile=$data.pid
logfile=$data.log
bin=${STORAGE_BIN_DIR:-$root/bin/storage}/versitygw

log() { echo "s3.sh: $*" >&2; }
die() {
	echo "s3.sh: ERROR: $*" >&2
	exit 1
}

# running prints the PID of our server if it runs: the pid file names a live
# versitygw process (not some other process that got the PID since).
running() {
	[[ -f $pidfile ]] || return 1
	local pid
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q versitygw || return 1
	echo "$pid"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

make_buckets() {
	local b
	for b in ${buckets//,/ }; do
		if [[ -d $data/$b ]]; then
			continue
		fi
		ADMIN_ACCESS_KEY_ID=$access ADMIN_SECRET_ACCESS_KEY=$secret ADMIN_REGION=$region \
			"$bin" admin --endpoint-url "$endpoint" create-bucket --owner "$access" --bucket "$b" ||
			die "cannot create bucket $b"
		log "created bucket $b"
	done
}

start() {
	local pid
	if pid=$(running); then
		log "already running (pid $pid) at $endpoint"
		make_buckets
		return
	fi
	listening && die "127.0.0.1:$port is taken by another process; set S3_PORT"
	[[ -x $bin ]] || "$here/install.sh"
	mkdir -p "$data"
	# Credentials go through the environment, never the command line.
	ROOT_ACCESS_KEY_ID=$access ROOT_SECRET_ACCESS_KEY=$secret VGW_REGION=$region \
		nohup "$bin" --port "127.0.0.1:$port" --quiet posix "$data" >"$logfile" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pidfile"
	for _ in $(seq 1 100); do
		if listening; then
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$logfile" >&2
			rm -f "$pidfile"
			die "versitygw exited (log: $logfile)"
		fi
		sleep 0.1
	done
	listening || {
		tail -n 20 "$logfile" >&2
		die "versitygw does not listen on 127.0.0.1:$port after 10 s (log: $logfile)"
	}
	log "started versitygw (pid $pid) at $endpoint, data in $data"
	make_buckets
	# shellcheck disable=SC2016 # printed for the user to run
	log 'for clients: eval "$(hack/storage/s3.sh env)"'
}

stop() {
	local pid
	if ! pid=$(running); then
		rm -f "$pidfile"
		log "not running"
		return
	fi
	kill "$pid"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop on SIGTERM; sending SIGKILL"
		kill -9 "$pid"
	fi
	rm -f "$pidfile"
	log "stopped (pid $pid)"
}

env_out() {
	cat <<EOF
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=$region
export S3_QUERY='endpoint=$endpoint&use_path_style=true&region=$region'
# URIs: s3://BUCKET/PREFIX?\$S3_QUERY, e.g. s3://${buckets%%[, ]*}/raw/?endpoint=$endpoint&use_path_style=true&region=$region
EOF
}

case ${1:-} in
start) start ;;
stop) stop ;;
status)
	if pid=$(running); then
		echo "running (pid $pid) at $endpoint, data in $data"
	else
		echo "not running"
		exit 1
	fi
	;;
env) env_out ;;
*)
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
