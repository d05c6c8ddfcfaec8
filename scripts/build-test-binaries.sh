#!/usr/bin/env bash
# Builds the real servers the tests run against, from Go modules at pinned
# versions, into a cache outside the repository. Only the first run on a
# machine pays for the build; later runs find the binaries and return at once.
#
#   scripts/build-test-binaries.sh          kube-apiserver, etcd, nats-server
#                                           and KEDA's CRDs (no build)
#   scripts/build-test-binaries.sh --e2e    also kube-controller-manager,
#                                           kube-scheduler, kubectl, kwok and
#                                           the KEDA operator with its CRDs
#   scripts/build-test-binaries.sh NAME...  only those (e.g. nats-server)
#
# Prints one "name=path" line per binary on stdout; progress goes to stderr.
# Versions live in scripts/versions.env so the TypeScript side reads the same.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${NOZZLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nozzle}
base=(etcd kube-apiserver nats-server keda-crds)
e2e=(kube-controller-manager kube-scheduler kubectl kwok keda-operator)
wanted=()
for arg in "$@"; do
  case $arg in
    --e2e) wanted+=("${base[@]}" "${e2e[@]}") ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) wanted+=("$arg") ;;
  esac
done
[[ ${#wanted[@]} -gt 0 ]] || wanted=("${base[@]}")

export GOFLAGS=-mod=mod
export CGO_ENABLED=0
export GOTOOLCHAIN=local

step() { printf '[build-test-binaries] %s\n' "$*" >&2; }

command -v go >/dev/null || {
  step "Go is required to build the test binaries (or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver and etcd)"
  exit 1
}

# The module cache is read-only and the wrapper modules are throwaway: build
# them in a scratch directory that is removed whatever happens.
scratch=$(mktemp -d)
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT

# Two runs on one machine must not build the same binary at once: the second
# waits for the first, then finds the binary built. Locks go when we exit.
missing() {
  [[ -x $1 ]] && return 1
  mkdir -p "$(dirname "$1")"
  local fd
  exec {fd}>"$1.lock"
  flock "$fd"
  [[ ! -x $1 ]]
}

timed() {
  local what=$1; shift
  local start=$SECONDS
  step "building $what (the first build on a machine takes minutes)..."
  "$@" >&2
  step "built $what in $((SECONDS - start))s"
}

# k8s.io/kubernetes cannot be required as a module as it is: its go.mod
# replaces every staging module (k8s.io/api, ...) with a local directory.
# The wrapper replaces each of them with its published v0.x twin instead.
kubernetes_wrapper() {
  local dir=$scratch/kubernetes
  [[ -f $dir/go.mod ]] && return
  mkdir -p "$dir"
  local gomod staging=v0.${KUBERNETES_VERSION#v1.}
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module nozzle.local/kubernetes-binaries"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$gomod" | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$staging"'#p'
    echo ")"
  } >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n' >"$dir/tools.go"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd" >>"$dir/tools.go"
  done
  printf ')\n' >>"$dir/tools.go"
  step "resolving k8s.io/kubernetes $KUBERNETES_VERSION modules..."
  (cd "$dir" && go mod tidy >&2)
}

kubernetes_binary() {
  local name=$1 out=$cache/kubernetes-$KUBERNETES_VERSION/$1
  if missing "$out"; then
    kubernetes_wrapper
    local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
    local pkg=k8s.io/component-base/version
    local ldflags="-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
    mkdir -p "$(dirname "$out")"
    timed "$name $KUBERNETES_VERSION" bash -c "cd '$scratch/kubernetes' && go build -trimpath -ldflags '$ldflags' -o '$out.tmp' k8s.io/kubernetes/cmd/$name && mv '$out.tmp' '$out'"
  fi
  echo "$name=$out"
}

etcd_binary() {
  local out=$cache/etcd-$ETCD_VERSION/etcd
  if missing "$out"; then
    local dir=$scratch/etcd
    mkdir -p "$dir"
    cat >"$dir/main.go" <<'GO'
// etcd's own main package lives in a module whose go.mod replaces its
// siblings with local paths; etcdmain is the same entry point, importable.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    printf 'module nozzle.local/etcd\n\ngo 1.23\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
    step "resolving go.etcd.io/etcd/server/v3 $ETCD_VERSION modules..."
    (cd "$dir" && go mod tidy >&2)
    mkdir -p "$(dirname "$out")"
    timed "etcd $ETCD_VERSION" bash -c "cd '$dir' && go build -trimpath -ldflags '-s -w' -o '$out.tmp' . && mv '$out.tmp' '$out'"
  fi
  echo "etcd=$out"
}

# nats-server and kwok have no replace directives: go install builds them as published.
go_install() {
  local name=$1 pkg=$2 version=$3 out=$cache/$1-$3/$1
  if missing "$out"; then
    mkdir -p "$(dirname "$out")"
    # The binary is named after the command's directory, not always the last path element (…/v2).
    timed "$name $version" env GOBIN="$scratch/gobin-$name" go install -trimpath -ldflags '-s -w' "$pkg@$version"
    mv "$scratch/gobin-$name"/* "$out"
  fi
  echo "$name=$out"
}

keda_source() {
  go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'
}

# KEDA's CRDs, and the source of the nats-jetstream scaler (the trigger
# metadata keys it reads), from the same module version as the operator.
keda_crds() {
  local dir=$cache/keda-$KEDA_VERSION
  if missing "$dir/crds/.complete"; then
    local src
    src=$(keda_source)
    mkdir -p "$dir/crds"
    cp "$src"/config/crd/bases/*.yaml "$dir/crds/"
    cp "$src/pkg/scalers/nats_jetstream_scaler.go" "$dir/"
    touch "$dir/crds/.complete"
    chmod +x "$dir/crds/.complete"
  fi
  echo "keda-crds=$dir/crds"
}

# KEDA's go.mod pins k8s.io through replace directives, which go install
# refuses: build inside a writable copy of the module source instead.
keda_binary() {
  local out=$cache/keda-$KEDA_VERSION/keda-operator
  if missing "$out"; then
    cp -r "$(keda_source)" "$scratch/keda"
    chmod -R u+w "$scratch/keda"
    local ldflags="-s -w -X github.com/kedacore/keda/v2/version.Version=$KEDA_VERSION"
    timed "keda-operator $KEDA_VERSION" bash -c "cd '$scratch/keda' && go build -trimpath -ldflags '$ldflags' -o '$out.tmp' ./cmd/operator && mv '$out.tmp' '$out'"
  fi
  echo "keda-operator=$out"
}

for name in "${wanted[@]}"; do
  case $name in
    etcd) etcd_binary ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl) kubernetes_binary "$name" ;;
    nats-server) go_install nats-server github.com/nats-io/nats-server/v2 "$NATS_SERVER_VERSION" ;;
    kwok) go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" ;;
    keda-operator) keda_binary ;;
    keda-crds) keda_crds ;;
    *) echo "unknown binary $name" >&2; exit 2 ;;
  esac
done
