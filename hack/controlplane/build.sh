#!/usr/bin/env bash
# Obtains the control-plane binaries that controller-runtime's envtest runs
# (kube-apiserver, etcd and, for end-to-end tests, kube-controller-manager;
# for the local cluster of hack/cluster also kube-scheduler) into bin/k8s,
# once, and prints that directory on stdout so callers can use it as
# KUBEBUILDER_ASSETS. Everything else goes to stderr.
#
# Order of preference:
#   1. bin/k8s already holds the wanted versions (stamp files): reuse, ~0.1 s.
#   2. setup-envtest can download a release (quick timeout): use it.
#   3. Build from source through the Go module proxy, which is the only thing
#      that works on a machine without general internet access. The pinned
#      sources live in two small modules next to this script (kube/, etcd/),
#      never in the project's go.mod. Cold: ~11 min and ~2.7 GB on 2 cores.
#
# Usage: hack/controlplane/build.sh [--with-controller-manager] [--cluster] [--with-kubectl] [--from-source]
#   --with-kubectl also builds kubectl (for machines that lack one; hack/deps.sh)
#   --cluster  also kube-controller-manager and kube-scheduler (hack/cluster/up.sh)
# Environment: CONTROLPLANE_DIR (default <repo>/bin/k8s),
#              CONTROLPLANE_FROM_SOURCE=1 (same as --from-source),
#              CONTROLPLANE_DOWNLOAD_TIMEOUT seconds (default 30).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${CONTROLPLANE_DIR:-$root/bin/k8s}
from_source=${CONTROLPLANE_FROM_SOURCE:-0}
with_kcm=0
with_kubectl=0
with_scheduler=0
dl_timeout=${CONTROLPLANE_DOWNLOAD_TIMEOUT:-30}

for arg in "$@"; do
	case $arg in
	--with-controller-manager) with_kcm=1 ;;
	--with-kubectl) with_kubectl=1 ;;
	--cluster)
		with_kcm=1
		with_scheduler=1
		;;
	--from-source) from_source=1 ;;
	-h | --help)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 0
		;;
	*)
		echo "build.sh: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

log() { echo "controlplane: $*" >&2; }

# The versions come from the pinning modules so that there is one place to
# change them; the release must match the project's client-go.
pinned() { # module go.mod
	sed -nE "s#^(require)?[[:space:]]*$1 (v[^[:space:]]+).*#\2#p" "$2" | sed -n 1p
}
k8s_version=$(pinned k8s.io/kubernetes "$here/kube/go.mod")
etcd_version=$(pinned go.etcd.io/etcd/server/v3 "$here/etcd/go.mod")
if [[ -z $k8s_version || -z $etcd_version ]]; then
	echo "build.sh: cannot read the pinned versions from $here/{kube,etcd}/go.mod" >&2
	exit 1
fi
k8s_minor=${k8s_version#v}
k8s_minor=${k8s_minor%.*} # 1.37
setup_envtest_version=v0.25.1

mkdir -p "$out"

# Concurrent `make test` runs must not build twice or read half-written files.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	flock 9
fi

# A stamp records what produced a binary; a binary without a matching stamp
# (older release, interrupted build, different Go) is rebuilt.
stamp_of() { # component
	case $1 in
	etcd) echo "etcd=$etcd_version" ;;
	*) echo "$1=$k8s_version" ;;
	esac
}

have() { # component
	local c=$1
	[[ -x $out/$c && -f $out/.$c.stamp ]] || return 1
	[[ $(head -n 1 "$out/.$c.stamp") == "$(stamp_of "$c")" ]]
}

components=(kube-apiserver etcd)
if [[ $with_kcm == 1 ]]; then
	components+=(kube-controller-manager)
fi
if [[ $with_scheduler == 1 ]]; then
	components+=(kube-scheduler)
fi
if [[ $with_kubectl == 1 ]]; then
	components+=(kubectl)
fi

missing=()
for c in "${components[@]}"; do
	have "$c" || missing+=("$c")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "$out"
	exit 0
fi
log "need ${missing[*]} in $out"

write_stamp() { # component source
	printf '%s\nsource=%s\ngo=%s\n' "$(stamp_of "$1")" "$2" "$(go env GOVERSION)" >"$out/.$1.stamp"
}

# try_download fetches kube-apiserver and etcd with setup-envtest. It gives up
# fast when the release index is unreachable, which is the normal case here.
try_download() {
	local index=https://raw.githubusercontent.com/kubernetes-sigs/controller-tools/HEAD/envtest-releases.yaml
	if command -v curl >/dev/null 2>&1 &&
		! curl -fsS -o /dev/null --max-time 10 "$index" 2>/dev/null; then
		log "envtest release index unreachable; building from source"
		return 1
	fi
	local tool=$root/bin/setup-envtest
	if [[ ! -x $tool ]]; then
		log "installing setup-envtest $setup_envtest_version"
		GOBIN=$root/bin GOWORK=off go install \
			"sigs.k8s.io/controller-runtime/tools/setup-envtest@$setup_envtest_version" >&2 || return 1
	fi
	local dir
	if ! dir=$(timeout "$dl_timeout" "$tool" use -p path "$k8s_minor.x" --bin-dir "$out/envtest" 2>/dev/null); then
		log "setup-envtest could not download $k8s_minor.x; building from source"
		return 1
	fi
	local got
	got=$("$dir/kube-apiserver" --version 2>/dev/null || true)
	log "setup-envtest provided ${got:-kube-apiserver} in $dir"
	for c in kube-apiserver etcd; do
		ln -sf "$dir/$c" "$out/$c"
		# setup-envtest may pick another patch release of the same minor;
		# the stamp records the pinned one because any 1.37.x serves envtest.
		write_stamp "$c" "setup-envtest"
	done
}

# build_go builds main packages from one of the pinning modules into a
# scratch directory and moves them into place only when the link succeeded,
# so an interrupted build never leaves a truncated binary behind.
build_go() { # module-dir ldflags pkg...
	local mod=$1 ldflags=$2
	shift 2
	local tmp
	tmp=$(mktemp -d "$out/.build.XXXXXX")
	log "building $* (go $(go env GOVERSION), GOMAXPROCS=${GOMAXPROCS:-all})"
	local start=$SECONDS
	if ! (cd "$mod" && GOWORK=off CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
		go build -trimpath -ldflags "$ldflags" -o "$tmp/" "$@" >&2); then
		rm -rf "$tmp"
		return 1
	fi
	local f name
	for f in "$tmp"/*; do
		name=$(basename "$f")
		# go names go.etcd.io/etcd/server/v3 after its last non-version element.
		[[ $name == server ]] && name=etcd
		mv -f "$f" "$out/$name"
	done
	rmdir "$tmp"
	log "built in $((SECONDS - start)) s"
}

build_from_source() {
	local kube_pkgs=() c
	for c in "${missing[@]}"; do
		case $c in
		kube-apiserver | kube-controller-manager | kube-scheduler | kubectl) kube_pkgs+=("k8s.io/kubernetes/cmd/$c") ;;
		esac
	done
	if [[ ${#kube_pkgs[@]} -gt 0 ]]; then
		local v=${k8s_version#v}
		local major=${v%%.*} minor=${v#*.}
		minor=${minor%%.*}
		# Without these the server reports v0.0.0-master, which clients and
		# envtest version checks misread.
		local pkg=k8s.io/component-base/version
		local ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
		build_go "$here/kube" "$ldflags" "${kube_pkgs[@]}"
		for p in "${kube_pkgs[@]}"; do
			write_stamp "${p##*/}" "source"
		done
	fi
	for c in "${missing[@]}"; do
		if [[ $c == etcd ]]; then
			build_go "$here/etcd" "-s -w" go.etcd.io/etcd/server/v3
			write_stamp etcd "source"
		fi
	done
}

# setup-envtest never ships kube-controller-manager or kube-scheduler, so try
# it only when it can supply something that is missing.
if [[ $from_source != 1 && " ${missing[*]} " =~ " "(kube-apiserver|etcd)" " ]] && try_download; then
	remaining=()
	for c in "${missing[@]}"; do
		have "$c" || remaining+=("$c")
	done
	missing=("${remaining[@]}")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
	build_from_source
fi

"$out/kube-apiserver" --version >&2
"$out/etcd" --version 2>&1 | sed -n 1p >&2 # sed reads everything: head would SIGPIPE etcd under pipefail
echo "$out"
