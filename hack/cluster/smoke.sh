#!/usr/bin/env bash
# Checks that the local cluster does what the operator relies on, with real
# objects in a fresh namespace that enforces the restricted Pod Security
# Standard:
#   - admission: PodSecurity rejects a non-compliant pod, ServiceAccount
#     admission mounts a token; the serviceaccount and root-CA controllers
#     fill a new namespace; the token controller's tokens authenticate;
#   - Job controller creates the Job's Pod; the scheduler binds it to the
#     node, the node runs it, the Job completes and `kubectl logs` shows its
#     output (without a node, the scheduler marks it Unschedulable instead);
#   - TTL-after-finished deletes a finished Job, and garbage collection its Pods;
#   - garbage collection deletes a Job whose owner (a ConfigMap) is deleted.
# Exits non-zero on the first failed check, after printing what it saw.
#
# A cluster that is not running is started with up.sh and stopped again at
# the end (SMOKE_KEEP=1 keeps it); one that runs is used as it is.
#
# Usage: hack/cluster/smoke.sh
# Environment: what up.sh reads (CLUSTER_DIR, ports, CLUSTER_NO_NODE=1 for
#              the control plane alone), SMOKE_TIMEOUT seconds per wait
#              (default 90), SMOKE_KEEP=1.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case ${1:-} in
-h | --help)
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 0
	;;
"") ;;
*) die "unknown argument $1 (see --help)" ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout=${SMOKE_TIMEOUT:-90}
[[ $timeout =~ ^[0-9]+$ ]] || die "SMOKE_TIMEOUT=$timeout is not a number of seconds"
t0=$(now)

ns=
we_started=0
cleanup() {
	local rc=$?
	if [[ -n $ns ]]; then
		if [[ $rc != 0 ]]; then
			log "state of namespace $ns:"
			kubectl get all,configmaps,events -n "$ns" -o wide 2>&1 | sed 's/^/    /' >&2 || true
		fi
		kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	fi
	if [[ $we_started == 1 && ${SMOKE_KEEP:-0} != 1 ]]; then
		"$here/down.sh" || true
	fi
	if [[ $rc == 0 ]]; then
		log "all smoke checks passed in $(since "$t0") s"
	else
		log "smoke checks FAILED"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! pid_of kube-apiserver >/dev/null; then
	we_started=1
fi
out=$("$here/up.sh")
export KUBECONFIG=${out#export KUBECONFIG=}
[[ -f $KUBECONFIG ]] || die "up.sh printed '$out', not the export of a kubeconfig"

# What runs decides the checks: CLUSTER_NO_NODE=1 keeps up.sh from starting a
# node, but one that runs already is used.
with_node=0
nodes=() # the names of the nodes that run
for ((i = 1; i <= max_nodes; i++)); do
	pid_of "$(node_component "$i")" >/dev/null && nodes+=("$(node_name_of "$i")")
done
if [[ ${#nodes[@]} -gt 0 ]]; then
	with_node=1
else
	for ((i = 1; i <= max_nodes; i++)); do
		n=$(node_name_of "$i")
		kubectl get node "$n" >/dev/null 2>&1 || continue
		# Left by an earlier run with a node: until the node lifecycle
		# controller marks it unreachable, the scheduler would bind pods to it.
		log "deleting Node $n, left by an earlier run: no node runs now"
		kubectl delete node "$n" >/dev/null
	done
fi

pass() { log "ok: $*"; }
fail() { die "FAIL: $*"; }

# wait_until polls a check until it passes or the timeout ends.
wait_until() { # what check...
	local what=$1 t
	shift
	t=$(now)
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out after $timeout s waiting until $what"
		sleep 0.5
	done
	pass "$what ($(since "$t") s)"
}

k() { kubectl -n "$ns" "$@"; }
exists() { k get "$@" -o name >/dev/null 2>&1; }
gone() { ! exists "$@"; }
jsonpath() { # resource jsonpath
	k get "$1" -o "jsonpath=$2"
}
is() { # expected resource jsonpath
	[[ $(jsonpath "$2" "$3") == "$1" ]]
}
job_pods() { k get pods -l "batch.kubernetes.io/job-name=$1" -o name; }
has_pod() { [[ -n $(job_pods "$1") ]]; }
no_pods() { [[ -z $(job_pods "$1") ]]; }
pod_of() { job_pods "$1" | sed -n 1p; }
bound() { # to one of the nodes that run
	local n
	n=$(jsonpath "$(pod_of "$1")" '{.spec.nodeName}')
	[[ -n $n && " ${nodes[*]} " == *" $n "* ]]
}
unschedulable() {
	is Unschedulable "$(pod_of "$1")" '{.status.conditions[?(@.type=="PodScheduled")].reason}'
}
job_condition() { # job type
	is True "job/$1" "{.status.conditions[?(@.type==\"$2\")].status}"
}

# A pod spec that the restricted Pod Security Standard admits, like the
# operator's worker pods.
job() { # name image ttl [extra spec lines, already indented] -- args...
	local name=$1 image=$2 ttl=$3 extra=
	shift 3
	while [[ $# -gt 0 && $1 != -- ]]; do
		extra+="$1"$'\n'
		shift
	done
	shift
	local args=
	for a in "$@"; do args+="\"$a\", "; done
	cat <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
${extra}spec:
  backoffLimit: 0
  ttlSecondsAfterFinished: $ttl
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: main
        image: $image
        args: [${args%, }]
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
YAML
}

ns=mldata-smoke-$(date +%s)-$RANDOM
kubectl create namespace "$ns" >/dev/null
kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
log "checks run in namespace $ns ($([[ $with_node == 1 ]] && echo "with node(s) ${nodes[*]}" || echo "without a node"))"

# --- admission and namespace controllers -------------------------------------

wait_until "the serviceaccount controller made ServiceAccount default" exists serviceaccount/default
wait_until "the root-CA publisher made ConfigMap kube-root-ca.crt" exists configmap/kube-root-ca.crt

bad=$(
	k apply --dry-run=server -f - 2>&1 <<'YAML' || true
apiVersion: v1
kind: Pod
metadata: {name: unconfined}
spec:
  containers:
  - {name: main, image: busybox}
YAML
)
[[ $bad == *"violates PodSecurity"* ]] || fail "PodSecurity admitted a pod without a security context in a restricted namespace: $bad"
pass "PodSecurity rejects a pod without a security context"

vols=$(
	k create --dry-run=server -o 'jsonpath={.spec.volumes[*].name}' -f - <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: token}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: main
    image: busybox
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
)
[[ $vols == *kube-api-access-* ]] || fail "ServiceAccount admission mounted no token volume (volumes: '$vols')"
pass "ServiceAccount admission mounts the token volume ($vols)"

# The token controller signs with the controller manager's
# --service-account-private-key-file; the API server must accept the result.
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: sa-token
  annotations: {kubernetes.io/service-account.name: default}
type: kubernetes.io/service-account-token
YAML
has_token() { [[ -n $(jsonpath secret/sa-token '{.data.token}') ]]; }
wait_until "the token controller filled Secret sa-token" has_token
token=$(jsonpath secret/sa-token '{.data.token}' | base64 -d)
who=$(curl -fsS --max-time 10 --cacert "$pki/ca.crt" -H "Authorization: Bearer $token" \
	-H 'Content-Type: application/json' -X POST \
	-d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
	"https://127.0.0.1:$apiserver_port/apis/authentication.k8s.io/v1/selfsubjectreviews" 2>&1) || true
[[ $who == *"\"system:serviceaccount:$ns:default\""* ]] ||
	fail "the API server did not accept the token controller's token as system:serviceaccount:$ns:default: $who"
pass "the API server authenticates that token as system:serviceaccount:$ns:default"

# --- Job controller, scheduler, node, TTL-after-finished -------------------

if [[ $with_node == 1 ]]; then
	# The node maps image mldata to bin/mldata; `version` ends at once.
	job run mldata:smoke 3 -- version | k apply -f - >/dev/null
	wait_until "the Job controller created the Pod of job/run" has_pod run
	wait_until "the scheduler bound it to a node (${nodes[*]})" bound run
	wait_until "the node ran it and job/run is Complete" job_condition run Complete
	is Succeeded "$(pod_of run)" '{.status.phase}' || fail "job/run is Complete but its pod is $(jsonpath "$(pod_of run)" '{.status.phase}')"
	out=$(k logs "$(pod_of run)" 2>&1) || true
	[[ $out == "mldata "* ]] || fail "kubectl logs of job/run's pod (through the node's log endpoint) printed '$out', not mldata's version"
	pass "kubectl logs reads the pod's output through the node ($out)"
	wait_until "TTL-after-finished deleted job/run" gone job/run
	wait_until "garbage collection deleted its Pod" no_pods run
else
	job run busybox 3 -- true | k apply -f - >/dev/null
	wait_until "the Job controller created the Pod of job/run" has_pod run
	wait_until "the scheduler marked it Unschedulable (no node)" unschedulable run
	# A deadline finishes a Job without a node: Failed is finished too.
	job deadline busybox 1 -- true | k apply -f - >/dev/null
	k patch job/deadline --type=merge -p '{"spec":{"activeDeadlineSeconds":1}}' >/dev/null
	wait_until "the Job controller failed job/deadline (DeadlineExceeded)" job_condition deadline Failed
	wait_until "TTL-after-finished deleted job/deadline" gone job/deadline
	wait_until "garbage collection deleted its Pod" no_pods deadline
fi

# --- garbage collection through an ownerReference ---------------------------

k create configmap owner >/dev/null
uid=$(jsonpath configmap/owner '{.metadata.uid}')
image=busybox
[[ $with_node == 1 ]] && image=mldata:smoke
owner="  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: $uid}]"
job owned "$image" 3600 "$owner" -- version | k apply -f - >/dev/null
wait_until "the Job controller created the Pod of job/owned" has_pod owned
k delete configmap owner --wait=true >/dev/null
wait_until "garbage collection deleted job/owned after its owner" gone job/owned
wait_until "garbage collection deleted the Pod of job/owned" no_pods owned
