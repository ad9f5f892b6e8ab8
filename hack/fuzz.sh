#!/usr/bin/env bash
# Runs every fuzz target of the module in turn, each for FUZZTIME (the first
# argument, default 30s). A failing input is written by `go test` under the
# package's testdata/fuzz/<Target>/ and then runs as a normal test case;
# commit it with the fix. PKGS narrows the packages (default ./...).
set -euo pipefail
fuzztime="${1:-30s}"
pkgs="${PKGS:-./...}"
failed=()
for pkg in $(go list $pkgs); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		echo "== $pkg $t ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg"; then
			failed+=("$pkg $t")
		fi
	done
done
if ((${#failed[@]})); then
	printf 'fuzz target failed: %s\n' "${failed[@]}"
	exit 1
fi
