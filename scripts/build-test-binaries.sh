#!/usr/bin/env bash
# Builds the real servers the tests run against, from Go modules at pinned
# versions, into a cache outside the repository. Only the first run on a
# machine pays for the build; later runs find the binaries and return at once.
#
#   scripts/build-test-binaries.sh            kube-apiserver, etcd, nats-server
#                                             and KEDA's CRDs (no build)
#   scripts/build-test-binaries.sh --e2e      also kube-controller-manager,
#                                             kube-scheduler, kubectl, kwok and
#                                             the KEDA operator with its CRDs
#   scripts/build-test-binaries.sh --sandbox  --e2e, and also kube-proxy,
#                                             coredns, traefik, prometheus, the
#                                             KEDA metrics adapter and the
#                                             Gateway API CRDs (no build)
#   scripts/build-test-binaries.sh NAME...    only those (e.g. nats-server)
#
# Prints one "name=path" line per binary on stdout, in the order asked for,
# once all are there; progress goes to stderr, and each build's own output to
# a log next to its binary. Up to NOZZLE_BUILD_JOBS (2) builds run at once.
# Versions live in scripts/versions.env so the TypeScript side reads the same.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${NOZZLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nozzle}
base=(etcd kube-apiserver nats-server keda-crds)
e2e=(kube-controller-manager kube-scheduler kubectl kwok keda-operator)
# The slow ones first: with two builds at once, they overlap the quick ones.
sandbox=(traefik prometheus kube-proxy coredns keda-adapter gateway-api-crds)
wanted=()
for arg in "$@"; do
  case $arg in
    --e2e) wanted+=("${base[@]}" "${e2e[@]}") ;;
    --sandbox) wanted+=("${base[@]}" "${e2e[@]}" "${sandbox[@]}") ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) wanted+=("$arg") ;;
  esac
done
[[ ${#wanted[@]} -gt 0 ]] || wanted=("${base[@]}")

export GOFLAGS=-mod=mod
export CGO_ENABLED=0
export GOTOOLCHAIN=local

# Progress goes to the stderr we were started with, also from the jobs below
# whose own stderr is a build log.
exec {progress}>&2
step() { printf '[build-test-binaries] %s\n' "$*" >&"$progress"; }

command -v go >/dev/null || {
  step "Go is required to build the test binaries (or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver and etcd)"
  exit 1
}

# The module cache is read-only and the wrapper modules are throwaway: build
# them in a scratch directory that is removed whatever happens, after the
# builds still running (each in its own process group, see set -m below) are
# stopped: a failed or interrupted run leaves nothing behind.
scratch=$(mktemp -d)
declare -A running=() # pid of a build job -> its group
cleanup() {
  local pid
  exec 2>/dev/null # not bash's notices of the jobs it stops
  for pid in "${!running[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait || true
  chmod -R u+w "$scratch"
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$scratch/out" "$scratch/log"

# Two runs on one machine must not build the same binary at once: the second
# waits for the first, then finds the binary built. The job releases the lock
# once the binary is there (two runs asking in different orders must not wait
# for each other). While it builds, the job's stderr (go's output) goes to a
# log next to the binary, named in $scratch/log in case the build fails.
missing() {
  [[ -x $1 ]] && return 1
  mkdir -p "$(dirname "$1")"
  exec {lock}>"$1.lock"
  flock "$lock"
  [[ ! -x $1 ]] || return 1
  echo "$1.log" >"$scratch/log/$current"
  exec 2>"$1.log"
}

timed() {
  local what=$1; shift
  local start=$SECONDS
  step "building $what (the first build on a machine takes minutes)..."
  "$@" >&2
  step "built $what in $((SECONDS - start))s"
}

# Runs a preparation (a writable copy, a wrapper module) once per run, however
# many builds of the same group need it.
once() {
  [[ -e $scratch/$1.done ]] && return
  "$@"
  touch "$scratch/$1.done"
}

go_dir() { go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }
go_mod() { go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'; }

# k8s.io/kubernetes cannot be required as a module as it is: its go.mod
# replaces every staging module (k8s.io/api, ...) with a local directory.
# The wrapper replaces each of them with its published v0.x twin instead.
kubernetes_wrapper() {
  local dir=$scratch/kubernetes
  mkdir -p "$dir"
  local gomod staging=v0.${KUBERNETES_VERSION#v1.}
  gomod=$(go_mod "k8s.io/kubernetes@$KUBERNETES_VERSION")
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
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl kube-proxy; do
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd" >>"$dir/tools.go"
  done
  printf ')\n' >>"$dir/tools.go"
  step "resolving k8s.io/kubernetes $KUBERNETES_VERSION modules..."
  (cd "$dir" && go mod tidy >&2)
}

kubernetes_binary() {
  local name=$1 out=$cache/kubernetes-$KUBERNETES_VERSION/$1
  if missing "$out"; then
    once kubernetes_wrapper
    local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
    local pkg=k8s.io/component-base/version
    local ldflags="-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
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
    timed "etcd $ETCD_VERSION" bash -c "cd '$dir' && go build -trimpath -ldflags '-s -w' -o '$out.tmp' . && mv '$out.tmp' '$out'"
  fi
  echo "etcd=$out"
}

# nats-server, kwok, coredns and prometheus have no replace directives: go
# install builds them as published. Flags after the version replace the
# default -ldflags '-s -w'.
go_install() {
  local name=$1 pkg=$2 version=$3 out=$cache/$1-$3/$1
  shift 3
  local flags=("$@")
  [[ ${#flags[@]} -gt 0 ]] || flags=(-ldflags '-s -w')
  if missing "$out"; then
    # The binary is named after the command's directory, not always the last path element (…/v2).
    timed "$name $version" env GOBIN="$scratch/gobin-$name" go install -trimpath "${flags[@]}" "$pkg@$version"
    mv "$scratch/gobin-$name"/* "$out"
  fi
  echo "$name=$out"
}

# Prometheus v3.N.M is published as the Go module version v0.3NN.M. Only the
# server: its web UI is embedded with the builtinassets tag, which needs
# assets built by npm that are not in the module; without the tag the API
# works and the UI pages are missing. remove_all_sd leaves out the service
# discovery of every cloud (their SDKs are most of the build) but the ones
# enabled again: kubernetes and dns (file, http and static are always in).
prometheus_binary() {
  local mm patch
  IFS=. read -r _ mm patch <<<"${PROMETHEUS_VERSION#v}"
  local pkg=github.com/prometheus/common/version
  go_install prometheus github.com/prometheus/prometheus/cmd/prometheus "$PROMETHEUS_VERSION" \
    -tags remove_all_sd,enable_kubernetes_sd,enable_dns_sd \
    -ldflags "-s -w -X $pkg.Version=$((mm / 100)).$((mm % 100)).$patch -X $pkg.Branch=HEAD -X $pkg.BuildUser=nozzle -X $pkg.BuildDate=19700101-00:00:00"
}

# The Traefik module does not build as published, for reasons outside its
# routing code, so it is built through a wrapper module whose replace
# directives point at three stand-ins written below:
# - its replace of github.com/abbot/go-http-auth points at a fork the module
#   proxy does not serve (403 for every version): a stand-in with the API
#   Traefik's BasicAuth and DigestAuth middlewares use, refusing every request;
# - lego's DNS provider registry (providers/dns) imports the SDKs of ~200 DNS
#   services for ACME DNS-01, and 14 of them are not served: a copy of lego at
#   the version Traefik requires, without the providers, whose registry
#   refuses every provider name (HTTP-01 and TLS-ALPN-01 still work);
# - the nested module github.com/traefik/traefik/dynamic/ext, replaced in
#   Traefik's go.mod by a directory the module zip leaves out: an empty one.
# Traefik's other replace and exclude directives are copied, since those of a
# dependency do not apply. No go mod tidy: it considers every build tag and
# would pick the latest versions of modules only other platforms import.
traefik_wrapper() {
  local dir=$scratch/traefik gomod lego
  mkdir -p "$dir/ext" "$dir/go-http-auth"
  gomod=$(go_mod "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")
  lego=$(sed -n 's#^\s*github.com/go-acme/lego/v5 \(v[^ ]*\).*#\1#p' "$gomod")
  step "copying github.com/go-acme/lego/v5 $lego without its DNS providers..."
  cp -r "$(go_dir "github.com/go-acme/lego/v5@$lego")" "$dir/lego"
  chmod -R u+w "$dir/lego"
  find "$dir/lego/providers/dns" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
  rm -f "$dir/lego/providers/dns/"*.go
  cat >"$dir/lego/providers/dns/dns_providers.go" <<'GO'
// Package dns stands in for lego's DNS provider registry, whose providers
// need SDK modules the Go module proxy does not serve: no DNS-01 challenges.
package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName refuses every provider.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("DNS provider %q: ACME DNS-01 challenges are unsupported in this build of Traefik", name)
}
GO
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.21\n' >"$dir/ext/go.mod"
  cat >"$dir/ext/ext.go" <<'GO'
// Package ext stands in for Traefik's dynamic configuration extension point,
// which its module zip leaves out; the published build embeds it empty too.
package ext

// HTTP is embedded inline in dynamic.HTTPConfiguration.
type HTTP struct{}

// Router is embedded inline in dynamic.Router.
type Router struct{}
GO
  printf 'module github.com/abbot/go-http-auth\n\ngo 1.21\n' >"$dir/go-http-auth/go.mod"
  cat >"$dir/go-http-auth/auth.go" <<'GO'
// Package auth stands in for github.com/abbot/go-http-auth, whose fork
// Traefik uses is not served by the Go module proxy. It has just the API
// Traefik's BasicAuth and DigestAuth middlewares use, and fails closed:
// every request they guard gets 401 with "unsupported in this build".
package auth

import "net/http"

// SecretProvider returns the secret (hash) of a user, or "".
type SecretProvider func(user, realm string) string

// BasicAuth is the basic authenticator.
type BasicAuth struct {
	Realm   string
	Secrets SecretProvider
}

// CheckSecret matches no password.
func CheckSecret(password, secret string) bool { return false }

// RequireAuth answers 401.
func (a *BasicAuth) RequireAuth(w http.ResponseWriter, r *http.Request) {
	unsupported(w, "Basic", a.Realm)
}

// DigestAuth is the digest authenticator.
type DigestAuth struct {
	Realm   string
	Secrets SecretProvider
}

// NewDigestAuthenticator returns a digest authenticator that accepts nobody.
func NewDigestAuthenticator(realm string, secrets SecretProvider) *DigestAuth {
	return &DigestAuth{Realm: realm, Secrets: secrets}
}

// CheckAuth authenticates nobody.
func (a *DigestAuth) CheckAuth(r *http.Request) (string, *string) { return "", nil }

// RequireAuth answers 401.
func (a *DigestAuth) RequireAuth(w http.ResponseWriter, r *http.Request) {
	unsupported(w, "Digest", a.Realm)
}

// RequireAuthStale answers 401.
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	a.RequireAuth(w, r)
}

// DigestAuthParams parses nothing.
func DigestAuthParams(authorization string) map[string]string { return map[string]string{} }

func unsupported(w http.ResponseWriter, scheme, realm string) {
	w.Header().Set("WWW-Authenticate", scheme+` realm="`+realm+`"`)
	http.Error(w, scheme+" auth is unsupported in this build of Traefik", http.StatusUnauthorized)
}
GO
  {
    echo "module nozzle.local/traefik"
    echo
    echo "go 1.26.0"
    echo
    echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION"
    echo
    echo "replace ("
    printf '\tgithub.com/traefik/traefik/dynamic/ext => ./ext\n'
    printf '\tgithub.com/abbot/go-http-auth => ./go-http-auth\n'
    printf '\tgithub.com/go-acme/lego/v5 => ./lego\n'
    sed -n -e '/^replace (/,/^)/{/=>/p;}' -e 's/^replace \(.*=>.*\)/\1/p' "$gomod" |
      { grep -v -e '=> \.' -e '^\s*github.com/abbot/go-http-auth ' || true; } | sed 's/^\s*/\t/'
    echo ")"
    echo
    echo "exclude ("
    sed -n -e '/^exclude (/,/^)/{/^\s/p;}' -e 's/^exclude \([^(].*\)/\1/p' "$gomod" | sed 's/^\s*/\t/'
    echo ")"
  } >"$dir/go.mod"
}

traefik_binary() {
  local out=$cache/traefik-$TRAEFIK_VERSION/traefik
  if missing "$out"; then
    once traefik_wrapper
    local pkg=github.com/traefik/traefik/v3/pkg/version
    local ldflags="-s -w -X $pkg.Version=$TRAEFIK_VERSION -X $pkg.BuildDate=1970-01-01T00:00:00Z"
    timed "traefik $TRAEFIK_VERSION (without ACME DNS-01, basic and digest auth)" bash -c "cd '$scratch/traefik' && go build -trimpath -ldflags '$ldflags' -o '$out.tmp' github.com/traefik/traefik/v3/cmd/traefik && mv '$out.tmp' '$out'"
  fi
  echo "traefik=$out"
}

keda_source() { go_dir "github.com/kedacore/keda/v2@$KEDA_VERSION"; }

# KEDA's CRDs, and the source of the nats-jetstream scaler (the trigger
# metadata keys it reads), from the same module version as the operator.
keda_crds() {
  local dir=$cache/keda-$KEDA_VERSION
  if missing "$dir/crds/.complete"; then
    local src
    src=$(keda_source)
    cp "$src"/config/crd/bases/*.yaml "$dir/crds/"
    cp "$src/pkg/scalers/nats_jetstream_scaler.go" "$dir/"
    touch "$dir/crds/.complete"
    chmod +x "$dir/crds/.complete"
  fi
  echo "keda-crds=$dir/crds"
}

# KEDA's go.mod pins k8s.io through replace directives, which go install
# refuses: build inside a writable copy of the module source instead, one
# copy for the operator and the metrics adapter.
keda_copy() {
  cp -r "$(keda_source)" "$scratch/keda"
  chmod -R u+w "$scratch/keda"
}

keda_binary() {
  local name=$1 cmd=$2 out=$cache/keda-$KEDA_VERSION/$1
  if missing "$out"; then
    once keda_copy
    local ldflags="-s -w -X github.com/kedacore/keda/v2/version.Version=$KEDA_VERSION"
    timed "$name $KEDA_VERSION" bash -c "cd '$scratch/keda' && go build -trimpath -ldflags '$ldflags' -o '$out.tmp' ./cmd/$cmd && mv '$out.tmp' '$out'"
  fi
  echo "$name=$out"
}

# The standard channel of the Gateway API, the version line Traefik's
# kubernetesgateway provider is built against. Besides the CRDs it holds a
# ValidatingAdmissionPolicy (with its binding) guarding upgrades.
gateway_api_crds() {
  local dir=$cache/gateway-api-$GATEWAY_API_VERSION
  if missing "$dir/crds/.complete"; then
    cp "$(go_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")"/config/crd/standard/*.yaml "$dir/crds/"
    touch "$dir/crds/.complete"
    chmod +x "$dir/crds/.complete"
  fi
  echo "gateway-api-crds=$dir/crds"
}

build() {
  case $1 in
    etcd) etcd_binary ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl | kube-proxy) kubernetes_binary "$1" ;;
    nats-server) go_install nats-server github.com/nats-io/nats-server/v2 "$NATS_SERVER_VERSION" ;;
    kwok) go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" ;;
    coredns) go_install coredns github.com/coredns/coredns "$COREDNS_VERSION" ;;
    prometheus) prometheus_binary ;;
    traefik) traefik_binary ;;
    keda-operator) keda_binary keda-operator operator ;;
    keda-adapter) keda_binary keda-adapter adapter ;;
    keda-crds) keda_crds ;;
    gateway-api-crds) gateway_api_crds ;;
    *) return 2 ;;
  esac
}

# Binaries sharing a wrapper module or a source copy build one after the
# other in one job: at once, both builds would compile the same packages.
group_of() {
  case $1 in
    kube-* | kubectl) echo kubernetes ;;
    keda-*) echo keda ;;
    *) echo "$1" ;;
  esac
}

declare -A seen=() members=()
groups=()
for name in "${wanted[@]}"; do
  [[ -z ${seen[$name]:-} ]] || continue
  seen[$name]=1
  case $name in
    etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kubectl | kube-proxy | nats-server | kwok | \
      coredns | prometheus | traefik | keda-operator | keda-adapter | keda-crds | gateway-api-crds) ;;
    *) echo "unknown binary $name" >&2; exit 2 ;;
  esac
  group=$(group_of "$name")
  [[ -n ${members[$group]:-} ]] || groups+=("$group")
  members[$group]+=" $name"
done

# Each group is a background job in its own process group (set -m), so a
# failure elsewhere can stop it with all of its go processes.
set -m
finished() {
  local pid status=0
  wait -n -p pid "${!running[@]}" || status=$?
  local group=${running[$pid]}
  unset "running[$pid]"
  [[ $status -eq 0 ]] && return
  # The group's first binary without its name=path line is the one that failed.
  local name log
  for name in ${members[$group]}; do [[ -s $scratch/out/$name ]] || break; done
  log=$(cat "$scratch/log/$name" 2>/dev/null || true)
  if [[ -n $log ]]; then
    tail -n 20 "$log" | sed 's/^/    /' >&2
    step "FAILED: building $name failed (exit $status); its full log: $log"
  else
    step "FAILED: building $name failed (exit $status); see the messages above"
  fi
  exit 1
}
parallel=${NOZZLE_BUILD_JOBS:-2}
[[ $parallel =~ ^[1-9][0-9]*$ ]] || parallel=1
for group in "${groups[@]}"; do
  while [[ ${#running[@]} -ge $parallel ]]; do finished; done
  (
    for current in ${members[$group]}; do
      build "$current" >"$scratch/out/$current"
      # The next binary of the group has a log of its own; this one's lock can go.
      exec 2>&"$progress"
      if [[ -n ${lock:-} ]]; then exec {lock}>&-; lock=; fi
    done
  ) &
  running[$!]=$group
done
while [[ ${#running[@]} -gt 0 ]]; do finished; done

# In the order asked for, each once.
for name in "${wanted[@]}"; do
  [[ -z ${seen[$name]:-} ]] && continue
  cat "$scratch/out/$name"
  seen[$name]=
done
