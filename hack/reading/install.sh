#!/usr/bin/env bash
# Installs the tools that docs/reading.md's recipes use, so that the tests
# which run them (cmd/mldata/reading_test.go) do not skip:
#   - DuckDB (@duckdb/node-api) and Polars (nodejs-polars) from npm, pinned by
#     hack/reading/package-lock.json, into bin/reading/node_modules (cached;
#     reinstalled when the lock file changes);
#   - pandas from Debian (python3-pandas) when the machine has apt-get and we
#     are root. Debian bookworm packages neither pyarrow nor Hugging Face
#     datasets; their recipes are tested where they are installed.
# Nothing here is fatal: a missing tool makes its recipe's test skip with a
# message that names this script.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/bin/reading"
log() { echo "hack/reading/install.sh: $*" >&2; }

if command -v npm >/dev/null 2>&1; then
  stamp="$(sha256sum "$here/package-lock.json" | cut -c1-16)"
  if [[ ! -f "$cache/.installed-$stamp" ]]; then
    log "installing DuckDB and Polars into bin/reading (npm ci)"
    mkdir -p "$cache"
    rm -f "$cache"/.installed-*
    cp "$here/package.json" "$here/package-lock.json" "$cache/"
    if (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
      touch "$cache/.installed-$stamp"
    else
      log "npm ci failed; the DuckDB and Polars recipe tests will skip"
    fi
  fi
else
  log "no npm; the DuckDB and Polars recipe tests will skip (install Node.js 20+)"
fi

if ! /usr/bin/python3 -c 'import pandas' >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing python3-pandas"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pandas; } >/dev/null 2>&1 ||
      log "apt-get install python3-pandas failed; the pandas recipe tests will skip"
  else
    log "no pandas for /usr/bin/python3 (Debian: apt-get install python3-pandas); the pandas recipe tests will skip"
  fi
fi
exit 0
