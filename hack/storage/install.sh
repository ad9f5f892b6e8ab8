#!/usr/bin/env bash
# Installs the object-storage servers that the tests and the demo run on
# loopback, into bin/storage (once; later runs only compare version stamps):
#   versitygw        S3 gateway (posix backend), built with go install
#   fake-gcs-server  Google Cloud Storage emulator, built with go install
#   azurite          Azure Blob Storage emulator, npm ci from the lock file
#                    in hack/storage/azurite (needs node)
# Everything comes from the Go module proxy and the npm registry; no release
# downloads. Prints how long each step took. Fails loudly: tests under CI
# fail rather than skip when a server is missing, so a broken install must
# stop `make test` here, where the cause is visible.
#
# Usage: hack/storage/install.sh
# Environment: STORAGE_BIN_DIR (default <repo>/bin/storage), GO (default go).
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
FAKE_GCS_VERSION=v1.56.1
# The Azurite version is pinned in hack/storage/azurite/package.json and its
# lock file.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${STORAGE_BIN_DIR:-$root/bin/storage}
GO=${GO:-go}

log() { echo "storage: $*" >&2; }
die() {
	echo "storage: ERROR: $*" >&2
	exit 1
}

mkdir -p "$out/.stamps"
# Concurrent `make test` runs must not build into the same place at once.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	flock 9
fi

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f s", e - s }'; }

# stamp_ok NAME WANT: the stamp says WANT was installed.
stamp_ok() { [[ -f $out/.stamps/$1 && $(<"$out/.stamps/$1") == "$2" ]]; }

# go_tool NAME PACKAGE VERSION: go install PACKAGE@VERSION into $out/NAME.
go_tool() {
	local name=$1 pkg=$2 version=$3 t0 tmp
	if stamp_ok "$name" "$version" && [[ -x $out/$name ]]; then
		log "$name $version present"
		return
	fi
	command -v "$GO" >/dev/null || die "$GO not found; $name is built from source with Go"
	t0=$(now)
	tmp=$(mktemp -d "$out/.build-$name-XXXXXX")
	# GOFLAGS or a go.work of the caller (-mod=vendor, say) must not leak
	# into a build that has nothing to do with this module.
	if ! GOBIN=$tmp GOFLAGS='' GOWORK=off "$GO" install -trimpath "$pkg@$version" >"$tmp/build.log" 2>&1; then
		cat "$tmp/build.log" >&2
		rm -rf "$tmp"
		die "go install $pkg@$version failed (see above)"
	fi
	mv -f "$tmp/$name" "$out/$name"
	rm -rf "$tmp"
	echo "$version" >"$out/.stamps/$name"
	log "$name $version built in $(since "$t0")"
}

azurite() {
	local want t0
	command -v node >/dev/null || die "node is not installed; Azurite needs it (Debian: apt-get install nodejs npm)"
	command -v npm >/dev/null || die "npm is not installed; Azurite is installed with it (Debian: apt-get install npm)"
	want=$(cat "$here/azurite/package.json" "$here/azurite/package-lock.json" | sha256sum | cut -c1-16)
	if stamp_ok azurite "$want" && [[ -x $out/azurite/node_modules/.bin/azurite-blob ]]; then
		log "azurite $(node -p 'require(process.argv[1]).version' "$out/azurite/node_modules/azurite/package.json") present"
		return
	fi
	t0=$(now)
	rm -rf "$out/azurite"
	mkdir -p "$out/azurite"
	cp "$here/azurite/package.json" "$here/azurite/package-lock.json" "$out/azurite/"
	if ! npm ci --prefix "$out/azurite" --prefer-offline --no-audit --no-fund --loglevel=error >"$out/azurite/npm.log" 2>&1; then
		cat "$out/azurite/npm.log" >&2
		die "npm ci for Azurite failed (see above)"
	fi
	[[ -x $out/azurite/node_modules/.bin/azurite-blob ]] || die "npm ci did not install azurite-blob"
	echo "$want" >"$out/.stamps/azurite"
	log "azurite $(node -p 'require(process.argv[1]).version' "$out/azurite/node_modules/azurite/package.json") installed in $(since "$t0")"
}

go_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
go_tool fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION"
azurite
