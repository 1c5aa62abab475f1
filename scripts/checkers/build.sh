#!/usr/bin/env bash
# Build the independent checkers the tests ask for a second opinion, from Go modules:
#   cyclonus (github.com/mattfenwick/cyclonus/cmd/cyclonus), a NetworkPolicy simulator;
#   kustomize (sigs.k8s.io/kustomize/kustomize/v5), which builds the export's kustomizations.
# Versions come from versions.env beside this script; README.md explains the choices.
#
# Usage: build.sh [--print-dir]
#   Builds (or reuses) ${CITYCLOUD_CACHE:-$HOME/.cache/citycloud}/checkers/<key>/bin and
#   prints that directory as the last line of stdout:   BIN=$(scripts/checkers/build.sh | tail -1)
#   --print-dir  print the bin directory only, build nothing.
# Progress goes to stderr. Environment: GO (go binary), CITYCLOUD_CACHE; GOPROXY etc. as usual.
#
# The cache is scripts/lib/gocache.sh's, as the control plane's, in a folder of its own: a
# new checker never rebuilds the 500 MB control plane.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_NAME=checkers
TITLE="citycloud checkers, built by scripts/checkers/build.sh"
# Bump when the build recipe (flags) changes, so the cache key changes too.
RECIPE=1
BINARIES=(cyclonus kustomize)
# shellcheck source=../lib/gocache.sh
. "$here/../lib/gocache.sh"
gocache_start "$@"

# `go install module@version` uses the module's own go.mod and go.sum (checked against the
# checksum DB), as its authors resolved them.
export GOFLAGS="-buildvcs=false"

# download MODULE VERSION SUM GOMODSUM : fetch a module and check it against the pinned hashes.
download() {
  local mod=$1 version=$2 want_sum=$3 want_gomodsum=$4 json sum gomodsum
  json=$(cd "$tmp/work" && "$GO" mod download -json "$mod@$version") ||
    die "cannot download $mod@$version: $json"
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$json")
  gomodsum=$(sed -n 's/^[[:space:]]*"GoModSum": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
  [[ $sum == "$want_sum" && $gomodsum == "$want_gomodsum" ]] ||
    die "$mod@$version checksum mismatch: got $sum $gomodsum, versions.env pins $want_sum $want_gomodsum"
}

# ---------------------------------------------------------------- cyclonus
# A plain module (no replace directives), so `go install pkg@version` builds it with its own
# go.mod. `cyclonus version` prints the version only when it is stamped in.
build_cyclonus() {
  local mod=github.com/mattfenwick/cyclonus
  download "$mod" "$CYCLONUS_VERSION" "$CYCLONUS_SUM" "$CYCLONUS_GOMODSUM"
  (cd "$tmp/work" && GOBIN="$out/bin" "$GO" install -trimpath \
    -ldflags "-s -w -X $mod/pkg/cli.version=$CYCLONUS_VERSION" \
    "$mod/cmd/cyclonus@$CYCLONUS_VERSION")
}

# ---------------------------------------------------------------- kustomize
# `kustomize version` prints what the build info says; -trimpath builds stamp the module's.
build_kustomize() {
  local mod=sigs.k8s.io/kustomize/kustomize/v5
  download "$mod" "$KUSTOMIZE_VERSION" "$KUSTOMIZE_SUM" "$KUSTOMIZE_GOMODSUM"
  (cd "$tmp/work" && GOBIN="$out/bin" "$GO" install -trimpath -ldflags "-s -w" \
    "$mod@$KUSTOMIZE_VERSION")
}

timed cyclonus build_cyclonus
timed kustomize build_kustomize
gocache_finish
