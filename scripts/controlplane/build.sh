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
# Bump when the build recipe (flags, wrapper modules) changes, so the cache key changes too.
RECIPE=1
BINARIES=(kube-apiserver kube-controller-manager etcd pulumi pulumi-resource-kubernetes)

log() { printf '[controlplane %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

print_dir_only=false
case "${1:-}" in
  --print-dir) print_dir_only=true ;;
  -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

set -a
# shellcheck source=versions.env
. "$here/versions.env"
set +a

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || die "no Go toolchain (set GO=/path/to/go)"
go_version=$("$GO" env GOVERSION)

key=$({ cat "$here/versions.env"; echo "go=$go_version recipe=$RECIPE"; } | sha256sum | cut -c1-16)
root="${CITYCLOUD_CACHE:-$HOME/.cache/citycloud}/controlplane"
dest="$root/$KUBERNETES_VERSION-$key"

if $print_dir_only; then
  echo "$dest/bin"
  exit 0
fi

# A cache entry is complete when every binary is there, listed in SHA256SUMS, and verifies.
verify() {
  local d=$1 b
  [[ -s $d/SHA256SUMS ]] || return 1
  for b in "${BINARIES[@]}"; do
    [[ -x $d/bin/$b ]] && grep -q " bin/$b\$" "$d/SHA256SUMS" || return 1
  done
  (cd "$d" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}

if verify "$dest"; then
  log "cache hit: $dest"
  echo "$dest/bin"
  exit 0
fi

mkdir -p "$root"
exec 9>"$root/.$KUBERNETES_VERSION-$key.lock"
flock -n 9 || { log "another build of this key is running: waiting for its lock"; flock 9; }
if verify "$dest"; then # built by another process while we waited
  log "cache hit: $dest"
  echo "$dest/bin"
  exit 0
fi

# Under the lock, a leftover build directory of this key belongs to a build that was killed.
for stale in "$root/.build-$key".*; do
  [[ -e $stale ]] || continue
  chmod -R u+w "$stale" && rm -rf "$stale"
done
tmp=$(mktemp -d "$root/.build-$key.XXXXXX")
cleanup() { chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
out="$tmp/out"
mkdir -p "$out/bin" "$tmp/work"

# Reproducible, self-contained builds: static binaries, no paths of this machine in them, no
# toolchain downloads, module graph resolved (and checked against go.sum / the checksum DB).
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-buildvcs=false -mod=mod"
BUILD=("$GO" build -trimpath)
buildinfo=()

# timed NAME CMD... : run a build step, record its wall time for BUILDINFO.
timed() {
  local name=$1 start end
  shift
  log "building $name ..."
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  [[ -x $out/bin/$name ]] || die "$name was not built"
  buildinfo+=("build_seconds.$name=$((end - start))")
  log "built $name in $((end - start))s"
}

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

log "building into $dest (go $go_version)"
total_start=$(date +%s)
k8s_wrapper
timed kube-apiserver build_k8s kube-apiserver
timed kube-controller-manager build_k8s kube-controller-manager
timed etcd build_etcd
timed pulumi build_pulumi
timed pulumi-resource-kubernetes build_provider

(cd "$out" && for b in "${BINARIES[@]}"; do sha256sum "bin/$b"; done >SHA256SUMS)
{
  echo "# citycloud control plane, built by scripts/controlplane/build.sh"
  grep -E '^[A-Z_]+=' "$here/versions.env"
  echo "GO_VERSION=$go_version"
  echo "GOOS_GOARCH=$("$GO" env GOOS)/$("$GO" env GOARCH)"
  echo "RECIPE=$RECIPE"
  echo "BUILT_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '%s\n' "${buildinfo[@]}"
  echo "build_seconds.total=$(($(date +%s) - total_start))"
} >"$out/BUILDINFO"

# Move into place atomically: a rename within one file system. An old, incomplete entry is
# moved aside first (we hold the lock, so nobody else is using it).
if [[ -e $dest ]]; then mv "$dest" "$tmp/stale"; fi
mv "$out" "$dest"
log "done: $dest ($(du -sh "$dest" | cut -f1))"
echo "$dest/bin"
