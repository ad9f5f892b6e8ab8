#!/usr/bin/env bash
# Stops the local cluster that hack/cluster/up.sh started, by the PIDs in its
# state dir: TERM, then KILL what still runs after a few seconds. The node
# goes first (it stops its pods), then the controllers and the API server,
# etcd last. The state dir stays, so the next up.sh is quick and keeps its
# certificates and objects, unless --purge.
#
# Usage: hack/cluster/down.sh [--purge]
# Environment: CLUSTER_DIR (default <repo>/bin/cluster),
#              CLUSTER_STOP_GRACE seconds before KILL (default 5).
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0
for arg in "$@"; do
	case $arg in
	--purge) purge=1 ;;
	-h | --help)
		sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 0
		;;
	*) die "unknown argument $arg (see --help)" ;;
	esac
done
grace=${CLUSTER_STOP_GRACE:-5}
[[ $grace =~ ^[0-9]+$ ]] || die "CLUSTER_STOP_GRACE=$grace is not a number of seconds"

if [[ ! -d $state ]]; then
	log "nothing to stop: $state does not exist"
	exit 0
fi
# A CLUSTER_DIR that up.sh never made (a typo, or $HOME) must not be purged.
if [[ ! -d $pids && ! -d $pki ]]; then
	die "$state has no pids/ or pki/: not a cluster state dir, leaving it alone"
fi

exec 8>"$state/.lock"
flock -w 60 8 || die "another hack/cluster/up.sh or down.sh holds $state/.lock"

t0=$(now)
stop_components "$grace" "${components[@]}"
log "stopped in $(since "$t0") s"

if [[ $purge == 1 ]]; then
	rm -rf "$state"
	log "removed $state"
fi
