#!/usr/bin/env bash
# Builds one command-line tool from source through the Go module proxy into
# bin/<name>-<version> (with a bin/<name> symlink), once, and prints the
# binary's path on stdout. A second call finds the versioned file and returns
# at once; a build is made under a lock, so concurrent `make test` runs wait
# for one build instead of doing two.
#
# Usage: hack/tools/install.sh NAME PACKAGE VERSION
#   e.g. hack/tools/install.sh helm helm.sh/helm/v4/cmd/helm v4.3.2
# The versions live in the Makefile (HELM_VERSION, PROMTOOL_VERSION,
# KUBECONFORM_VERSION); change them there.
# Environment: TOOLS_DIR (default <repo>/bin).
#
# Cold builds measured on a 2-core machine shared by other builds (load
# about 30), modules downloaded by the same call: kubeconform 39 s wall,
# 11 s CPU; helm 33 min wall, 351 s CPU (about 3 min on an idle machine);
# promtool 54 min wall, 792 s CPU, 3.4 GB peak RSS. Cached, a call takes
# milliseconds.
set -euo pipefail

if [[ $# -ne 3 ]]; then
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
name=$1 pkg=$2 version=$3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${TOOLS_DIR:-$root/bin}
bin="$out/$name-$version"
mkdir -p "$out"

if [[ ! -x $bin ]]; then
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$out/.$name.lock"
		flock 9
	fi
fi
if [[ ! -x $bin ]]; then
	tmp=$(mktemp -d "$out/.$name.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "tools: building $name $version from $pkg (once; cached as $bin)" >&2
	start=$(date +%s)
	# CGO off: static binaries, no C toolchain needed. nice: the build must
	# not starve tests running beside it.
	CGO_ENABLED=0 GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags '-s -w' "$pkg@$version" >&2
	mv "$tmp/$(basename "$pkg")" "$bin"
	echo "tools: built $name $version in $(($(date +%s) - start)) s" >&2
fi
ln -sfn "$(basename "$bin")" "$out/$name"
echo "$bin"
