#!/usr/bin/env bash
# Builds golangci-lint with the Kubernetes API linter compiled in (this
# folder's module: main.go, go.mod, go.sum) into bin/ and prints its path.
# Everything comes from the Go module proxy; nothing is downloaded prebuilt.
# The binary is named after a hash of go.mod and go.sum, so it is built once
# per version pin and reused until the pins change (make lint calls this on
# every run; the cached case costs one sha256sum).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sum=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
out="$root/bin/golangci-lint-kal-$sum"

if [[ ! -x "$out" ]]; then
	mkdir -p "$root/bin"
	echo "building golangci-lint with kube-api-linter into ${out#"$root"/} (first run only: a few minutes)" >&2
	start=$SECONDS
	(cd "$here" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly go build -trimpath -o "$out.tmp" .)
	mv "$out.tmp" "$out"
	echo "built in $((SECONDS - start))s" >&2
fi
ln -sf "$(basename "$out")" "$root/bin/golangci-lint-kal"
echo "$out"
