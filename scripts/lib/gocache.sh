# shellcheck shell=bash
# The cache of binaries built from Go modules, shared by scripts/controlplane/build.sh and
# scripts/checkers/build.sh (sourced, not run). An entry lives in
# ${CITYCLOUD_CACHE:-$HOME/.cache/citycloud}/<CACHE_NAME>/<entry>/bin, keyed by the caller's
# versions.env, the Go version and the caller's RECIPE; it is complete when every binary is
# listed in its SHA256SUMS and verifies. Builds run under a lock in a temporary folder that is
# moved into place in one rename, so an interrupted build never leaves a half entry.
#
# The caller sets, then calls `gocache_start "$@"`:
#   here        the folder of the caller (its versions.env is there)
#   CACHE_NAME  the cache's folder, also the tag of log lines ("controlplane", "checkers")
#   TITLE       the first line of BUILDINFO
#   RECIPE      bumped when the build recipe changes, so the key changes too
#   BINARIES    the binaries an entry holds
#   ENTRY_PREFIX (optional) the name of a versions.env variable that prefixes the entry
# gocache_start answers --print-dir and --help and a cache hit (exit 0), otherwise leaves the
# lock taken and $tmp/work and $out/bin ready; the caller builds each binary with
# `timed NAME FUNCTION` into $out/bin, then calls gocache_finish.

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$CACHE_NAME" -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A cache entry is complete when every binary is there, listed in SHA256SUMS, and verifies.
verify() {
  local d=$1 b
  [[ -s $d/SHA256SUMS ]] || return 1
  for b in "${BINARIES[@]}"; do
    [[ -x $d/bin/$b ]] && grep -q " bin/$b\$" "$d/SHA256SUMS" || return 1
  done
  (cd "$d" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}

gocache_start() {
  local print_dir_only=false entry stale
  case "${1:-}" in
    --print-dir) print_dir_only=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    "") ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac

  set -a
  # shellcheck source=/dev/null
  . "$here/versions.env"
  set +a

  GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
  [[ -x $GO ]] || die "no Go toolchain (set GO=/path/to/go)"
  go_version=$("$GO" env GOVERSION)

  key=$({ cat "$here/versions.env"; echo "go=$go_version recipe=$RECIPE"; } | sha256sum | cut -c1-16)
  root="${CITYCLOUD_CACHE:-$HOME/.cache/citycloud}/$CACHE_NAME"
  entry="${ENTRY_PREFIX:+${!ENTRY_PREFIX}-}$key"
  dest="$root/$entry"

  if $print_dir_only; then
    echo "$dest/bin"
    exit 0
  fi
  if verify "$dest"; then
    log "cache hit: $dest"
    echo "$dest/bin"
    exit 0
  fi

  mkdir -p "$root"
  exec 9>"$root/.$entry.lock"
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
  trap 'chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM HUP
  out="$tmp/out"
  mkdir -p "$out/bin" "$tmp/work"

  # Reproducible, self-contained builds: static binaries, no paths of this machine in them,
  # no toolchain downloads (the caller sets GOFLAGS for how it resolves modules).
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off
  buildinfo=()
  log "building into $dest (go $go_version)"
  total_start=$(date +%s)
}

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

# SHA256SUMS and BUILDINFO, then the entry moves into place: a rename within one file system.
# An old, incomplete entry is moved aside first (we hold the lock, so nobody else uses it).
gocache_finish() {
  (cd "$out" && for b in "${BINARIES[@]}"; do sha256sum "bin/$b"; done >SHA256SUMS)
  {
    echo "# $TITLE"
    grep -E '^[A-Z_]+=' "$here/versions.env"
    echo "GO_VERSION=$go_version"
    echo "GOOS_GOARCH=$("$GO" env GOOS)/$("$GO" env GOARCH)"
    echo "RECIPE=$RECIPE"
    echo "BUILT_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '%s\n' "${buildinfo[@]}"
    echo "build_seconds.total=$(($(date +%s) - total_start))"
  } >"$out/BUILDINFO"
  if [[ -e $dest ]]; then mv "$dest" "$tmp/stale"; fi
  mv "$out" "$dest"
  log "done: $dest ($(du -sh "$dest" | cut -f1))"
  echo "$dest/bin"
}
