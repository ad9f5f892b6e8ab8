#!/usr/bin/env bash
# Builds the local node (hack/node, its own Go module) into <repo>/bin/mldata-node
# and prints that path on stdout; everything else goes to stderr.
#
# The build is skipped when the binary is newer than every source file of the
# module (*.go, go.mod, go.sum), so callers can run this before every start.
#
# Usage: hack/node/build.sh [--force]
# Environment: MLDATA_NODE_BIN (default <repo>/bin/mldata-node).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${MLDATA_NODE_BIN:-$root/bin/mldata-node}
force=0

for arg in "$@"; do
	case $arg in
	--force) force=1 ;;
	-h | --help)
		sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 0
		;;
	*)
		echo "build.sh: unknown argument $arg (expected --force)" >&2
		exit 2
		;;
	esac
done

mkdir -p "$(dirname "$out")"

# Two scripts starting the cluster at once must not link the same file twice.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out.lock"
	flock 9
fi

up_to_date() {
	[[ -x $out ]] || return 1
	local newer
	newer=$(find "$here" \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$out" -print -quit)
	[[ -z $newer ]]
}

if [[ $force == 0 ]] && up_to_date; then
	echo "mldata-node: $out is up to date" >&2
	echo "$out"
	exit 0
fi

echo "mldata-node: building $out" >&2
start=$(date +%s)
# Build into a temporary file first so that a running node or a concurrent
# reader never sees a half-written binary.
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp" .)
mv -f "$tmp" "$out"
echo "mldata-node: built in $(($(date +%s) - start)) s" >&2
echo "$out"
