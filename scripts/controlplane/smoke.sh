#!/usr/bin/env bash
# Smoke test of the built control plane, the way controller-runtime's envtest starts one:
# etcd + kube-apiserver (+ kube-controller-manager) on 127.0.0.1 with throw-away certificates,
# then /readyz, an authenticated request, and a namespace deletion (which needs the
# controller-manager). Every process it starts is stopped on exit. The flag set here is the one
# documented in README.md for the pytest fixture.
#
# Usage: smoke.sh [BIN_DIR]     (default: the directory printed by build.sh --print-dir)
#        KEEP=1 smoke.sh        keep the work directory (certs, logs) for inspection
#        SMOKE_EXEC='cmd' smoke.sh   also run cmd (bash -c) against the running control plane,
#                                    with KUBECONFIG set to an admin kubeconfig
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${1:-$("$here/build.sh" --print-dir)}
for b in etcd kube-apiserver kube-controller-manager; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b: run build.sh first" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/citycloud-controlplane.XXXXXX")
pids=()
# Stop in reverse start order (controller-manager, apiserver, etcd): an apiserver whose etcd is
# already gone spends minutes retrying before it exits. SIGTERM, then SIGKILL after 10s.
stop() {
  local p=$1 i
  kill "$p" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local i start=$SECONDS
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  log "stopped in $((SECONDS - start))s"
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
log() { printf '[smoke %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ETCD_PORT=$(free_port) ETCD_PEER_PORT=$(free_port) API_PORT=$(free_port) KCM_PORT=$(free_port)

# ---- certificates: one CA; apiserver serving cert for 127.0.0.1/localhost; admin client cert in
# system:masters; a service-account signing key pair.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=citycloud-test-ca" \
  -keyout ca.key -out ca.crt 2>/dev/null
sign() { # NAME SUBJECT EXTENSIONS
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
    -extfile <(printf '%s\n' "$3") -out "$1.crt" 2>/dev/null
}
sign apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
sign admin "/O=system:masters/CN=citycloud-admin" "extendedKeyUsage=clientAuth"
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null

cat >admin.kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$work/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$work/admin.crt", client-key: "$work/admin.key"}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
EOF

wait_for() { # WHAT SECONDS CMD...
  local what=$1 limit=$2 start=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - start >= limit)); then log "$what not ready after ${limit}s"; return 1; fi
    sleep 0.2
  done
  log "$what ready after $((SECONDS - start))s"
}

# ---- etcd
"$BIN/etcd" \
  --name=test --data-dir="$work/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync=true --log-level=warn >etcd.log 2>&1 &
pids+=($!)
wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health" || { tail -20 etcd.log >&2; exit 1; }

# ---- kube-apiserver
"$BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
  --tls-cert-file="$work/apiserver.crt" --tls-private-key-file="$work/apiserver.key" \
  --client-ca-file="$work/ca.crt" \
  --service-account-issuer="https://127.0.0.1:$API_PORT" \
  --service-account-key-file="$work/sa.pub" --service-account-signing-key-file="$work/sa.key" \
  --authorization-mode=Node,RBAC \
  --service-cluster-ip-range=10.0.0.0/24 \
  --allow-privileged=true \
  --endpoint-reconciler-type=none \
  >apiserver.log 2>&1 &
pids+=($!)
wait_for kube-apiserver 120 curl -fsS --cacert ca.crt "https://127.0.0.1:$API_PORT/readyz" ||
  { tail -30 apiserver.log >&2; exit 1; }
log "/readyz: $(curl -sS --cacert ca.crt "https://127.0.0.1:$API_PORT/readyz")"
admin() { curl -fsS --cacert ca.crt --cert admin.crt --key admin.key "$@"; }
log "version: $(admin "https://127.0.0.1:$API_PORT/version" | tr -d ' \n')"

# ---- kube-controller-manager (quota usage, namespace deletion, service-account tokens)
"$BIN/kube-controller-manager" \
  --kubeconfig="$work/admin.kubeconfig" \
  --authentication-kubeconfig="$work/admin.kubeconfig" --authorization-kubeconfig="$work/admin.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
  --service-account-private-key-file="$work/sa.key" --root-ca-file="$work/ca.crt" \
  --use-service-account-credentials=true \
  --leader-elect=false \
  >controller-manager.log 2>&1 &
pids+=($!)
wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz" ||
  { tail -30 controller-manager.log >&2; exit 1; }

# ---- end to end: a quota gets its usage, a namespace is really deleted
api="https://127.0.0.1:$API_PORT"
admin -X POST -H 'Content-Type: application/json' "$api/api/v1/namespaces" \
  -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"smoke"}}' >/dev/null
admin -X POST -H 'Content-Type: application/json' "$api/api/v1/namespaces/smoke/resourcequotas" \
  -d '{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},"spec":{"hard":{"configmaps":"10"}}}' >/dev/null
quota_used() { admin "$api/api/v1/namespaces/smoke/resourcequotas/q" | python3 -c \
  'import json,sys; sys.exit(0 if json.load(sys.stdin).get("status",{}).get("used",{}).get("configmaps") else 1)'; }
wait_for "resourcequota usage" 60 quota_used
admin -X DELETE "$api/api/v1/namespaces/smoke" >/dev/null
ns_gone() { ! admin "$api/api/v1/namespaces/smoke"; }
wait_for "namespace deletion" 60 ns_gone
if [[ -n ${SMOKE_EXEC:-} ]]; then
  log "running SMOKE_EXEC"
  KUBECONFIG="$work/admin.kubeconfig" bash -c "$SMOKE_EXEC"
fi
echo "smoke ok: etcd + kube-apiserver + kube-controller-manager from $BIN"
