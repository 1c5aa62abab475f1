#!/usr/bin/env bash
# Build the real control plane used by the tests from Go modules, with the Go toolchain:
#   kube-apiserver, kube-controller-manager (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3),
#   pulumi (github.com/pulumi/pulumi/pkg/v3), pulumi-resource-kubernetes
#   (github.com/pulumi/pulumi-kubernetes/provider/v4).
# Versions come from versions.env beside this script; README.md explains every trick below.
#
# Usage: build.sh [--print-dir]
#   Builds (or reuses) ${CITYCLOUD_CACHE:-$HOME/.cache/citycloud}/controlplane/<key>/bin and
#   prints that directory as the last line of stdout:   BIN=$(scripts/controlplane/build.sh | tail -1)
#   --print-dir  print the bin directory only, build nothing.
# Progress goes to stderr. Environment: GO (go binary), CITYCLOUD_CACHE; GOPROXY etc. as usual.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_NAME=controlplane
TITLE="citycloud control plane, built by scripts/controlplane/build.sh"
# Bump when the build recipe (flags, wrapper modules) changes, so the cache key changes too.
RECIPE=1
BINARIES=(kube-apiserver kube-controller-manager etcd pulumi pulumi-resource-kubernetes)
ENTRY_PREFIX=KUBERNETES_VERSION
# shellcheck source=../lib/gocache.sh
. "$here/../lib/gocache.sh"
gocache_start "$@"

# Module graphs resolved here (and checked against go.sum / the checksum DB).
export GOFLAGS="-buildvcs=false -mod=mod"
BUILD=("$GO" build -trimpath)

# ---------------------------------------------------------------- Kubernetes
# A wrapper module requiring k8s.io/kubernetes and replacing each staging module that the tag
# requires at v0.0.0 (=> ./staging/src/..., not in the module zip) with its published release.
k8s_wrapper() {
  local w="$tmp/work/kubernetes" gomod minor_patch staging
  mkdir -p "$w"
  gomod=$(cd "$w" && "$GO" mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [[ -f $gomod ]] || die "cannot download k8s.io/kubernetes@$KUBERNETES_VERSION"
  minor_patch=${KUBERNETES_VERSION#v1.}                          # 37.2
  staging="v0.$minor_patch"                                      # v0.37.2
  {
    echo "module citycloud.local/controlplane/kubernetes"
    echo
    grep -E '^go [0-9]' "$gomod"
    # The tag's godebug settings apply only in the main module: copy them (line or block).
    awk '/^godebug \(/ {b=1} b || /^godebug / {print} b && /^\)/ {b=0}' "$gomod"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo ")"
    echo
    echo "replace ("
    awk -v v="$staging" '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {printf "\t%s => %s %s\n", $1, $1, v}' "$gomod" | sort -u
    echo ")"
  } >"$w/go.mod"
  log "kubernetes wrapper: $(grep -c ' => ' "$w/go.mod") staging modules replaced by $staging"
  (cd "$w" && "$GO" mod tidy)
}

build_k8s() {
  local v=$KUBERNETES_VERSION minor p c ld
  minor=${v#v1.}
  minor=${minor%%.*}
  p=k8s.io/component-base/version
  c=k8s.io/client-go/pkg/version
  ld="-s -w -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ld+=" -X $c.gitVersion=$v -X $c.gitMajor=1 -X $c.gitMinor=$minor"
  (cd "$tmp/work/kubernetes" && "${BUILD[@]}" -ldflags "$ld" -o "$out/bin/$1" "k8s.io/kubernetes/cmd/$1")
}

# ---------------------------------------------------------------- etcd
# Its release go.mod replaces api/client/pkg with ../<dir>; replaces of a dependency are ignored,
# so a wrapper that requires server/v3 gets the published modules of the same release.
build_etcd() {
  local w="$tmp/work/etcd"
  mkdir -p "$w"
  cat >"$w/go.mod" <<EOF
module citycloud.local/controlplane/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

tool go.etcd.io/etcd/server/v3
EOF
  (cd "$w" && "$GO" mod tidy &&
    "${BUILD[@]}" -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
      -o "$out/bin/etcd" go.etcd.io/etcd/server/v3)
}

# ---------------------------------------------------------------- Pulumi CLI
# pkg/go.mod replaces sdk/v3 => ../sdk: the wrapper requires sdk/v3 at the same version.
build_pulumi() {
  local w="$tmp/work/pulumi"
  mkdir -p "$w"
  cat >"$w/go.mod" <<EOF
module citycloud.local/controlplane/pulumi

go 1.26.0

require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)

tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
EOF
  (cd "$w" && "$GO" mod tidy &&
    "${BUILD[@]}" -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

# ---------------------------------------------------------------- Pulumi Kubernetes provider
# The main package embeds schema-embed.json and terraform-mapping-embed.json, which are
# gitignored upstream (so not in the module zip): build inside a writable copy of the module,
# after running its own generate.go. Its go.mod replaces sdk/v4 => ../sdk (not in the zip):
# drop that replace so the required published sdk/v4 is used.
build_provider() {
  local mod=github.com/pulumi/pulumi-kubernetes/provider/v4 json dir sum gomodsum w
  json=$(cd "$tmp/work" && GONOSUMDB=$mod "$GO" mod download -json "$mod@$PULUMI_KUBERNETES_PROVIDER_MODULE")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$json")
  gomodsum=$(sed -n 's/^[[:space:]]*"GoModSum": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
  [[ -d $dir ]] || die "cannot download $mod@$PULUMI_KUBERNETES_PROVIDER_MODULE: $json"
  [[ $sum == "$PULUMI_KUBERNETES_PROVIDER_SUM" && $gomodsum == "$PULUMI_KUBERNETES_PROVIDER_GOMODSUM" ]] ||
    die "$mod checksum mismatch: got $sum $gomodsum, versions.env pins $PULUMI_KUBERNETES_PROVIDER_SUM $PULUMI_KUBERNETES_PROVIDER_GOMODSUM"
  w="$tmp/work/pulumi-kubernetes"
  cp -r "$dir" "$w"
  chmod -R u+w "$w"
  (
    cd "$w"
    "$GO" mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4
    cd cmd/pulumi-resource-kubernetes
    VERSION=${PULUMI_KUBERNETES_VERSION#v} "$GO" run generate.go
    "${BUILD[@]}" -ldflags "-s -w -X $mod/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
      -o "$out/bin/pulumi-resource-kubernetes" .
  )
}

k8s_wrapper
timed kube-apiserver build_k8s kube-apiserver
timed kube-controller-manager build_k8s kube-controller-manager
timed etcd build_etcd
timed pulumi build_pulumi
timed pulumi-resource-kubernetes build_provider
gocache_finish
