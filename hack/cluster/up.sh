#!/usr/bin/env bash
# Starts a Kubernetes cluster on 127.0.0.1 from the binaries in bin/: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and two nodes
# (mldata-node agents, mldata-local and mldata-local-2), which run the pods
# bound to them as local processes. It prints
# `export KUBECONFIG=<state>/kubeconfig` on stdout; everything else goes to
# stderr, so `eval "$(hack/cluster/up.sh)"` works.
#
# It is idempotent: components of this state dir that already run are kept,
# missing ones are started, and a healthy cluster returns at once. On a
# failure it stops what this run started and prints the failing log's tail.
#
# Usage: hack/cluster/up.sh
# Environment:
#   CLUSTER_DIR       state dir: pki/, logs/, pids/, etcd/, node/, kubeconfig
#                     (default <repo>/bin/cluster)
#   APISERVER_PORT    kube-apiserver secure port (default 16443)
#   ETCD_PORT         etcd client port (default 12379)
#   ETCD_PEER_PORT    etcd peer port (default 12380)
#   NODE_PORT         the first node's log endpoint (default APISERVER_PORT
#                     + 1); node i listens on NODE_PORT + i - 1
#   CLUSTER_NODES     how many nodes (default 2, at most 4)
#   SERVICE_CIDR      service cluster IP range (default 10.96.0.0/16)
#   CLUSTER_NO_NODE=1 start the control plane only (pods stay Pending);
#                     the same as CLUSTER_NODES=0
#   CLUSTER_IMAGES    more image mappings for the nodes, "name=/abs/path ..."
#   CLUSTER_TIMEOUT   seconds to wait for each component (default 120)
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case ${1:-} in
-h | --help)
	sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 0
	;;
"") ;;
*) die "unknown argument $1 (see --help)" ;;
esac

service_cidr=${SERVICE_CIDR:-10.96.0.0/16}
timeout=${CLUSTER_TIMEOUT:-120}
[[ $node_count =~ ^[0-9]+$ ]] && ((node_count <= max_nodes)) ||
	die "CLUSTER_NODES=$node_count: use 0 to $max_nodes"
t0=$(now)

# The node serves `kubectl logs` to the API server. Next to the API server's
# port rather than on the kubelet's 10250, so that a second cluster (the
# end-to-end tests set APISERVER_PORT) or a real kubelet does not collide.
node_port=${NODE_PORT:-}
if [[ -z $node_port && $apiserver_port =~ ^[0-9]+$ ]]; then
	node_port=$((apiserver_port + 1))
fi
for v in apiserver_port etcd_port etcd_peer_port node_port; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} < 1 || ${!v} > 65535 - max_nodes)); then
		die "${v^^}=${!v} is not a TCP port number"
	fi
done
# Node i serves its logs on the port after node i-1's.
node_port_of() { echo $((node_port + $1 - 1)); }
node_dir_of() { echo "$state/node$(node_suffix "$1")"; }
[[ $service_cidr =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)/([0-9]+)$ ]] ||
	die "SERVICE_CIDR=$service_cidr is not an IPv4 CIDR such as 10.96.0.0/16"
# The first address of the range is the `kubernetes` Service's ClusterIP,
# which the serving certificate must name.
service_ip=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}.$((BASH_REMATCH[4] + 1))
[[ $timeout =~ ^[0-9]+$ ]] || die "CLUSTER_TIMEOUT=$timeout is not a number of seconds"
command -v openssl >/dev/null || die "openssl is needed for the certificates (apt-get install openssl)"
command -v curl >/dev/null || die "curl is needed for the health checks (apt-get install curl)"
command -v kubectl >/dev/null || die "kubectl is needed to wait for the cluster"

mkdir -p "$pki" "$logs" "$pids" "$state/etcd"
for ((i = 1; i <= node_count; i++)); do mkdir -p "$(node_dir_of "$i")"; done
chmod 700 "$pki" "$state/etcd"

# Concurrent runs on one state dir would start everything twice.
exec 8>"$state/.lock"
if ! flock -w "$timeout" 8; then
	die "another hack/cluster/up.sh or down.sh holds $state/.lock"
fi

# --- settings and ports -----------------------------------------------------

# Components that run keep the settings they were started with; mixing them
# with other ports or ranges would make a cluster that cannot work.
settings="APISERVER_PORT=$apiserver_port ETCD_PORT=$etcd_port ETCD_PEER_PORT=$etcd_peer_port NODE_PORT=$node_port SERVICE_CIDR=$service_cidr"
for c in "${components[@]}"; do
	if pid_of "$c" >/dev/null; then
		old=$(cat "$state/settings" 2>/dev/null || true)
		[[ $old == "$settings" ]] ||
			die "the cluster in $state runs with ${old:-unknown settings}; run hack/cluster/down.sh before starting it with $settings"
		break
	fi
done
echo "$settings" >"$state/settings"

check_port() { # port variable component
	local port=$1 var=$2 c=$3 owner ours
	owner=$(port_owner "$port")
	[[ -z $owner ]] && return 0
	ours=$(pid_of "$c" || true)
	[[ -n $ours && $owner == "$ours" ]] && return 0
	local who="another process"
	if [[ $owner != "?" ]]; then
		who="pid $owner ($(tr '\0\n' '  ' <"/proc/$owner/cmdline" 2>/dev/null | cut -c1-120))"
	fi
	die "port $port ($var) is in use by $who, not by the $c of $state; stop it or choose another port, e.g. $var=$((port + 1000))"
}
check_port "$etcd_port" ETCD_PORT etcd
check_port "$etcd_peer_port" ETCD_PEER_PORT etcd
check_port "$apiserver_port" APISERVER_PORT kube-apiserver
for ((i = 1; i <= node_count; i++)); do
	check_port "$(node_port_of "$i")" NODE_PORT "$(node_component "$i")"
done

# --- binaries ---------------------------------------------------------------

k8s=$("$root/hack/controlplane/build.sh" --cluster)
if [[ ! -x $root/bin/mldata ]]; then
	log "building bin/mldata"
	make -C "$root" --no-print-directory build >&2
fi
node_bin=
if ((node_count > 0)); then
	[[ -x $root/hack/node/build.sh ]] ||
		die "hack/node/build.sh not found: the node agent cannot be built; CLUSTER_NO_NODE=1 starts the control plane alone"
	node_bin=$("$root/hack/node/build.sh")
	[[ -x $node_bin ]] || die "hack/node/build.sh printed '$node_bin', which is not an executable"
fi

# --- certificates -----------------------------------------------------------
# One CA signs everything. Files are made only when missing (or expiring
# within a day), so a restart keeps the kubeconfigs users already hold.

umask 077
cnf=$pki/openssl.cnf
cat >"$cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
CNF

fresh() { # cert: exists and valid for at least another day
	[[ -s $1 ]] && openssl x509 -checkend 86400 -noout -in "$1" >/dev/null 2>&1
}

if ! fresh "$pki/ca.crt" || [[ ! -s $pki/ca.key ]]; then
	log "creating the cluster CA in $pki"
	openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 -config "$cnf" -extensions ca \
		-subj "/CN=mldata-local-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
	# Certificates of the previous CA would not verify any more.
	rm -f "$pki"/{apiserver,admin,kube-controller-manager,kube-scheduler}.{crt,key} "$pki"/node*.{crt,key}
fi

leaf() { # name subject usage [subjectAltName]
	local name=$1 subj=$2 usage=$3 san=${4:-}
	local ext=$pki/$name.ext
	{
		echo "basicConstraints = critical,CA:FALSE"
		echo "keyUsage = critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage = $usage"
		echo "authorityKeyIdentifier = keyid"
		[[ -n $san ]] && echo "subjectAltName = $san"
	} >"$ext.new"
	# A changed subject or SAN list (another SERVICE_CIDR) needs a new one.
	if fresh "$pki/$name.crt" && [[ -s $pki/$name.key ]] && cmp -s "$ext.new" "$ext" &&
		[[ $(cat "$pki/$name.subj" 2>/dev/null) == "$subj" ]]; then
		rm -f "$ext.new"
		return 0
	fi
	mv "$ext.new" "$ext"
	echo "$subj" >"$pki/$name.subj"
	openssl req -new -nodes -newkey rsa:2048 -config "$cnf" -subj "$subj" \
		-keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
	openssl x509 -req -sha256 -days 365 -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
		-extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
	rm -f "$pki/$name.csr"
	log "issued $name.crt ($subj)"
}

leaf apiserver "/CN=kube-apiserver" serverAuth \
	"DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$service_ip"
leaf admin "/O=system:masters/CN=mldata-local-admin" clientAuth
# The controller manager and the scheduler log in as the users that the
# bootstrap RBAC policy binds to their roles; the node as system:node:<name>,
# which the Node authorizer and NodeRestriction admission confine to its own
# Node and the pods bound to it.
leaf kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
leaf kube-scheduler "/CN=system:kube-scheduler" clientAuth
for ((i = 1; i <= node_count; i++)); do
	leaf "node$(node_suffix "$i")" "/O=system:nodes/CN=system:node:$(node_name_of "$i")" clientAuth
done

if [[ ! -s $pki/sa.key || ! -s $pki/sa.pub ]]; then
	log "creating the service-account signing key"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
	openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
fi

write_kubeconfig() { # file cert-name user
	local f=$1 name=$2 user=$3
	cat >"$f.new" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mldata-local
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$pki/$name.crt")
    client-key-data: $(base64 -w0 <"$pki/$name.key")
contexts:
- name: mldata-local
  context:
    cluster: mldata-local
    user: $user
current-context: mldata-local
KC
	# Rewritten only when it changed: users may hold it open in a shell.
	if cmp -s "$f.new" "$f"; then rm -f "$f.new"; else mv "$f.new" "$f"; fi
}
write_kubeconfig "$kubeconfig" admin mldata-local-admin
write_kubeconfig "$pki/kube-controller-manager.kubeconfig" kube-controller-manager system:kube-controller-manager
write_kubeconfig "$pki/kube-scheduler.kubeconfig" kube-scheduler system:kube-scheduler
for ((i = 1; i <= node_count; i++)); do
	write_kubeconfig "$pki/node$(node_suffix "$i").kubeconfig" "node$(node_suffix "$i")" "system:node:$(node_name_of "$i")"
done
umask 022

# --- processes --------------------------------------------------------------

exec 6>&2  # on_exit restores stderr from here
started=() # components this run started: the only ones a failure stops
failing=   # component whose log explains a failure

on_exit() {
	local rc=$?
	[[ $rc == 0 ]] && return
	# A signal may arrive while a check runs with stderr sent to /dev/null.
	exec 2>&6
	if [[ $rc == 130 ]]; then
		log "interrupted"
	elif [[ -n $failing && -f $logs/$failing.log ]]; then
		log "last lines of $logs/$failing.log:"
		# Only this run's part of the log: start() writes a === line first.
		awk '/^=== / { n = 0 } { line[n++] = $0 } END { for (i = (n > 25 ? n - 25 : 0); i < n; i++) print "    " line[i] }' \
			"$logs/$failing.log" >&2
	fi
	if [[ ${#started[@]} -gt 0 ]]; then
		log "start-up failed: stopping what this run started (${started[*]})"
		stop_components 5 "${started[@]}"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# start runs a component in its own session, so that it outlives this script
# and a Ctrl-C in the terminal does not reach it, and records its PID.
start() { # component binary args...
	local c=$1
	shift
	local f=$logs/$c.log
	# Keep one earlier log; a long-lived cluster would fill the disk otherwise.
	if [[ -f $f && $(stat -c %s "$f") -gt $((64 << 20)) ]]; then mv -f "$f" "$f.1"; fi
	echo "=== $(date -u +%FT%TZ) $*" >>"$f"
	# Not a process-group leader here, so setsid execs in place and $! is
	# the component's own PID.
	setsid "$@" </dev/null >>"$f" 2>&1 6>&- 8>&- &
	echo $! >"$pids/$c.pid"
	started+=("$c")
	log "started $c (pid $!, log $f)"
}

# running reports a component that is already up, so it is kept.
running() {
	local pid
	pid=$(pid_of "$1") || return 1
	log "$1 already running (pid $pid)"
}

# wait_for polls a check until it passes; a started component that dies
# meanwhile fails at once with its own log.
wait_for() { # what component check...
	local what=$1 c=$2
	shift 2
	local t
	t=$(now)
	failing=$c
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		local s
		for s in "${started[@]}"; do
			pid_of "$s" >/dev/null || {
				failing=$s
				die "$s exited during start-up"
			}
		done
		((SECONDS < deadline)) || die "timed out after $timeout s waiting for $what"
		sleep 0.2
	done
	log "$what ($(since "$t") s)"
	failing=
}

running etcd || start etcd "$k8s/etcd" \
	--name="$node_name" \
	--data-dir="$state/etcd" \
	--listen-client-urls="http://127.0.0.1:$etcd_port" \
	--advertise-client-urls="http://127.0.0.1:$etcd_port" \
	--listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
	--initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
	--initial-cluster="$node_name=http://127.0.0.1:$etcd_peer_port" \
	--unsafe-no-fsync=true
# No fsync: a development cluster trades durability across power loss for
# start-up and write speed on a shared disk; a killed process loses nothing.
etcd_healthy() { [[ $(curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health") == *'"health":"true"'* ]]; }
wait_for "etcd is healthy" etcd etcd_healthy

running kube-apiserver || start kube-apiserver "$k8s/kube-apiserver" \
	--etcd-servers="http://127.0.0.1:$etcd_port" \
	--bind-address=127.0.0.1 \
	--secure-port="$apiserver_port" \
	${ADVERTISE_ADDRESS:+--advertise-address="$ADVERTISE_ADDRESS"} \
	--tls-cert-file="$pki/apiserver.crt" \
	--tls-private-key-file="$pki/apiserver.key" \
	--client-ca-file="$pki/ca.crt" \
	--authorization-mode=Node,RBAC \
	--enable-admission-plugins=NodeRestriction \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$pki/sa.pub" \
	--service-account-signing-key-file="$pki/sa.key" \
	--service-cluster-ip-range="$service_cidr" \
	--profiling=false
apiserver_ready() { [[ $(api /readyz) == ok ]]; }
wait_for "kube-apiserver is ready" kube-apiserver apiserver_ready

running kube-controller-manager || start kube-controller-manager "$k8s/kube-controller-manager" \
	--kubeconfig="$pki/kube-controller-manager.kubeconfig" \
	--secure-port=0 \
	--leader-elect=false \
	--use-service-account-credentials=true \
	--service-account-private-key-file="$pki/sa.key" \
	--root-ca-file="$pki/ca.crt" \
	--cluster-signing-cert-file="$pki/ca.crt" \
	--cluster-signing-key-file="$pki/ca.key" \
	--service-cluster-ip-range="$service_cidr" \
	--cluster-name=mldata-local \
	--controllers='*'

running kube-scheduler || start kube-scheduler "$k8s/kube-scheduler" \
	--kubeconfig="$pki/kube-scheduler.kubeconfig" \
	--secure-port=0 \
	--leader-elect=false

images=(--image "mldata=$root/bin/mldata")
for m in ${CLUSTER_IMAGES:-}; do
	[[ $m == *=/* ]] || die "CLUSTER_IMAGES entry '$m' is not name=/absolute/path"
	images+=(--image "$m")
done
# Every node has this machine's CPUs and memory as its capacity, so the
# scheduler sees two equal, empty nodes and spreads pods over them.
node_since=()
for ((i = 1; i <= node_count; i++)); do
	node_since[i]=
	c=$(node_component "$i")
	if ! running "$c"; then
		node_since[i]=$(date -u +%FT%TZ)
		start "$c" "$node_bin" \
			--kubeconfig "$pki/node$(node_suffix "$i").kubeconfig" \
			--node-name "$(node_name_of "$i")" \
			--root "$(node_dir_of "$i")" \
			--listen-address "127.0.0.1:$(node_port_of "$i")" \
			"${images[@]}" \
			--log-dir "$logs/pods$(node_suffix "$i")"
	fi
done

export KUBECONFIG=$kubeconfig
# The ServiceAccount admission plugin rejects pods until the serviceaccount
# controller has made `default`, so this also proves the controller manager
# works with its service-account credentials.
wait_for "the default ServiceAccount exists" kube-controller-manager \
	kubectl get serviceaccount default --namespace default
if ((node_count > 0)); then
	# The Node object outlives a restart with its last Ready=True, so a node
	# this run started counts only once it has reported since its start
	# (RFC 3339 UTC times of one format compare as strings).
	node_ready() { # name since
		local r
		r=$(kubectl get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
		[[ ${r%% *} == True ]] || return 1
		[[ -z $2 || ! ${r#* } < $2 ]]
	}
	for ((i = 1; i <= node_count; i++)); do
		wait_for "node $(node_name_of "$i") is Ready" "$(node_component "$i")" node_ready "$(node_name_of "$i")" "${node_since[i]}"
	done
else
	log "no node (CLUSTER_NO_NODE=1): pods are scheduled nowhere and stay Pending"
fi

if [[ ${#started[@]} -eq 0 ]]; then
	log "the cluster in $state is already running and healthy"
else
	log "cluster up in $(since "$t0") s; logs in $logs, stop with ${CLUSTER_DIR:+CLUSTER_DIR=$CLUSTER_DIR }hack/cluster/down.sh"
fi
echo "export KUBECONFIG=$kubeconfig"
