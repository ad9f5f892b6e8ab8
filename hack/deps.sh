#!/usr/bin/env bash
# Installs what the tests use, when it is missing: the object-storage
# servers (hack/storage/install.sh; a failure stops here, since the storage
# tests fail without them under CI), and system packages: Chromium renders
# the HTML reports in a real browser.
set -euo pipefail

"$(dirname "${BASH_SOURCE[0]}")/storage/install.sh"
# DuckDB, Polars and pandas for the reading recipes (docs/reading.md); never fatal.
"$(dirname "${BASH_SOURCE[0]}")/reading/install.sh"

# kubectl drives the end-to-end tests and the demo; a machine without one
# gets it built from the pinned Kubernetes release into bin/k8s, which the
# Makefile puts on PATH.
if ! command -v kubectl >/dev/null 2>&1; then
  "$(dirname "${BASH_SOURCE[0]}")/controlplane/build.sh" --with-kubectl >/dev/null
fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "hack/deps.sh: missing ${need[*]}; install them (Debian: apt-get install ${need[*]}) — the report tests skip without them" >&2
  exit 0
fi
echo "hack/deps.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
