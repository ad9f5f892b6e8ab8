#!/usr/bin/env bash
# The operator's quick start (`make demo`): builds what is missing, starts the
# local cluster (hack/cluster) and the S3 server (hack/storage), uploads the
# sample data, runs the manager as a process under its generated RBAC,
# applies config/samples/ and waits until the dataset is built, profiled and
# drift-checked. Everything binds to 127.0.0.1; `make demo-down` (this script
# with `down`) stops it all.
#
# Usage: hack/demo.sh [up|down]
# Environment: DEMO_DIR (default <repo>/bin/demo) for the manager's state,
#              plus what hack/cluster/up.sh and hack/storage/s3.sh read.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
state=${DEMO_DIR:-$root/bin/demo}
ns=default
bucket=mldata-samples
s3_port=${S3_PORT:-9000}
endpoint="endpoint=http://127.0.0.1:$s3_port&use_path_style=true&region=us-east-1"
export S3_PORT=$s3_port S3_BUCKETS=$bucket

log() { printf 'demo: %s\n' "$*" >&2; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

stop_manager() {
	local pid
	pid=$(cat "$state/manager.pid" 2>/dev/null) || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$state/manager.pid"
}

if [[ ${1:-up} == down ]]; then
	stop_manager
	hack/cluster/down.sh
	hack/storage/s3.sh stop
	exit 0
fi
[[ ${1:-up} == up ]] || { echo "usage: hack/demo.sh [up|down]" >&2; exit 2; }
mkdir -p "$state"

log "building bin/mldata"
make -s build >&2
hack/storage/s3.sh start >&2
eval "$(hack/storage/s3.sh env)"
eval "$(hack/cluster/up.sh)"
log "cluster and S3 server up ($(elapsed) s)"

go run ./hack/upload testdata/sample "s3://$bucket/raw/customers/?$endpoint" >&2
go run ./hack/upload testdata/sample-drifted "s3://$bucket/raw/customers-drifted/?$endpoint" >&2

kubectl apply --server-side -k config/local >/dev/null
kubectl wait --for=condition=Established --timeout=60s \
	crd/datasetbuilds.mldata.io crd/datasetprofiles.mldata.io crd/driftchecks.mldata.io >/dev/null
kubectl -n "$ns" create secret generic mldata-s3 \
	--from-literal=AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
	--from-literal=AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
	--dry-run=client -o yaml | kubectl apply -f - >/dev/null

# The manager authenticates as its ServiceAccount, so the generated RBAC is
# what it lives by, exactly as in the cluster.
stop_manager
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
token=$(kubectl -n mldata-system create token mldata-controller-manager --duration=24h)
umask 077
cat >"$state/manager.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
- name: manager
  user: {token: "$token"}
contexts:
- name: manager
  context: {cluster: demo, user: manager}
current-context: manager
EOF
umask 022
# A local run allows what a shared cluster refuses: the S3 server on
# loopback, plain-HTTP metrics, and worker pods sized for a laptop.
KUBECONFIG=$state/manager.kubeconfig setsid bin/mldata manager \
	--worker-image mldata:demo \
	--leader-election-namespace mldata-system \
	--metrics-bind-address 127.0.0.1:18080 --health-probe-bind-address 127.0.0.1:18081 \
	--metrics-secure=false --allowed-endpoints 127.0.0.1/32 \
	--worker-cpu-request 100m --worker-memory-request 128Mi \
	>"$state/manager.log" 2>&1 &
echo $! >"$state/manager.pid"
for _ in $(seq 100); do
	curl -fsS http://127.0.0.1:18081/readyz >/dev/null 2>&1 && break
	kill -0 "$(cat "$state/manager.pid")" 2>/dev/null || { tail -n 30 "$state/manager.log" >&2; exit 1; }
	sleep 0.2
done
log "manager running ($(elapsed) s); log: $state/manager.log"

kubectl -n "$ns" apply -f config/samples/
kubectl -n "$ns" wait --for=condition=Ready --timeout=5m datasetbuild/churn datasetprofile/churn-train
# The sample DriftCheck runs every 30 minutes; the requested-at annotation
# runs it now, as a user would.
kubectl -n "$ns" annotate --overwrite driftcheck/churn-drift "mldata.io/requested-at=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
kubectl -n "$ns" wait --for=condition=DriftDetected --timeout=5m driftcheck/churn-drift >/dev/null
log "built, profiled and drift-checked in $(elapsed) s"

echo
echo "\$ kubectl get mldata"
kubectl -n "$ns" get mldata
echo
data=$(hack/storage/s3.sh env | sed -n 's/^export STORAGE_DIR=//p')
data=${data:-$root/bin/s3data}
echo "Outputs (bucket $bucket on http://127.0.0.1:$s3_port, stored as files under $data/$bucket):"
echo "  dataset:        $(kubectl -n "$ns" get datasetbuild churn -o jsonpath='{.status.manifestURI}')"
echo "  profile:        $(kubectl -n "$ns" get datasetprofile churn-train -o jsonpath='{.status.htmlReportURI}')"
echo "  drift:          $(kubectl -n "$ns" get driftcheck churn-drift -o jsonpath='{.status.lastRun.reportURI}')"
echo "HTML reports to open in a browser:"
find "$data/$bucket" -name '*.html' | sort | sed 's/^/  /'
echo
echo "export KUBECONFIG=$KUBECONFIG   # to use kubectl; make demo-down stops everything"
