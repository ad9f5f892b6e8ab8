# shellcheck shell=bash
# Sourced by up.sh, down.sh and smoke.sh: where the local cluster keeps its
# state, which ports it uses, and how to tell its processes from others.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=$(realpath -m "${CLUSTER_DIR:-$root/bin/cluster}")
pki=$state/pki
logs=$state/logs
pids=$state/pids
kubeconfig=$state/kubeconfig

# Fixed defaults rather than free ports: the kubeconfig stays valid across
# restarts, and envtest picks its ports at random from the ephemeral range
# (32768 and up), so these never collide with a test run.
apiserver_port=${APISERVER_PORT:-16443}
etcd_port=${ETCD_PORT:-12379}
etcd_peer_port=${ETCD_PEER_PORT:-12380}
node_name=mldata-local

# Nodes: node 1 is mldata-local (component mldata-node, working dir node/,
# pod logs in logs/pods/); node i > 1 is mldata-local-i (mldata-node-i,
# node-i/, logs/pods-i/). CLUSTER_NODES says how many up.sh starts (default
# 2, at most max_nodes); CLUSTER_NO_NODE=1 means none.
max_nodes=4
node_count=${CLUSTER_NODES:-2}
[[ ${CLUSTER_NO_NODE:-0} == 1 ]] && node_count=0
node_suffix() { (($1 > 1)) && echo "-$1"; true; } # node index → "" or -i
node_name_of() { echo "$node_name$(node_suffix "$1")"; }
node_component() { echo "mldata-node$(node_suffix "$1")"; }
node_components=()
for ((i = 1; i <= max_nodes; i++)); do node_components+=("$(node_component "$i")"); done

# Start order; down.sh stops them in reverse.
components=(etcd kube-apiserver kube-controller-manager kube-scheduler "${node_components[@]}")

log() { echo "cluster: $*" >&2; }
die() {
	log "$*"
	exit 1
}

now() { echo "${EPOCHREALTIME/,/.}"; }
since() { # start → seconds with one decimal
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
}

# alive: the process exists and is not a zombie (a child that died during
# up.sh stays a zombie until it is reaped).
alive() {
	local st
	st=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# pid_of prints the recorded PID of a component when that process runs and
# is ours: every component's command line names the state dir, so a PID that
# the system has recycled for something else is never mistaken for it.
pid_of() {
	local f=$pids/$1.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
	local cmd
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"$state/"* ]] || return 1
	echo "$pid"
}

# port_owner prints the PID listening on a TCP port of 127.0.0.1 (or on all
# addresses), "?" when something listens but its owner cannot be seen, and
# nothing when the port is free.
port_owner() {
	local port=$1 line
	if command -v ss >/dev/null 2>&1; then
		line=$(ss -Htlnp "sport = :$port" 2>/dev/null | sed -n 1p)
		[[ -z $line ]] && return 0
		if [[ $line =~ pid=([0-9]+) ]]; then
			echo "${BASH_REMATCH[1]}"
		else
			echo "?"
		fi
		return 0
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "?"
	fi
}

# stop_pids sends TERM, waits up to grace seconds, then KILLs what is left.
stop_pids() { # grace pid...
	local grace=$1 p i
	shift
	[[ $# -gt 0 ]] || return 0
	kill -TERM "$@" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		local left=()
		for p in "$@"; do
			alive "$p" && left+=("$p")
		done
		[[ ${#left[@]} -eq 0 ]] && return 0
		set -- "${left[@]}"
		sleep 0.1
	done
	log "still running after ${grace} s, killing: $*"
	kill -KILL "$@" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		local left=()
		for p in "$@"; do
			alive "$p" && left+=("$p")
		done
		[[ ${#left[@]} -eq 0 ]] && return 0
		set -- "${left[@]}"
		sleep 0.1
	done
}

# api calls the API server as the cluster admin with nothing but curl, which
# starts faster than kubectl and needs no kubeconfig.
api() { # path [curl args...]
	local path=$1
	shift
	curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
		"$@" "https://127.0.0.1:$apiserver_port$path"
}

# stop_components stops the named components that run, in the reverse of the
# start order and one group at a time: the API server shuts down cleanly only
# while etcd still answers, and etcd lingers while the API server holds
# connections, so stopping both at once takes seconds longer.
stop_components() { # grace component...
	local grace=$1 group c pid
	shift
	for group in "${node_components[*]}" "kube-controller-manager kube-scheduler" kube-apiserver etcd; do
		local p=() names=()
		for c in $group; do
			[[ " $* " == *" $c "* ]] || continue
			if pid=$(pid_of "$c"); then
				p+=("$pid")
				names+=("$c")
			fi
			rm -f "$pids/$c.pid"
		done
		if [[ ${#p[@]} -gt 0 ]]; then
			log "stopping ${names[*]}"
			stop_pids "$grace" "${p[@]}"
		fi
	done
}
