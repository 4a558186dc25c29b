#!/usr/bin/env bash
# scripts/cluster.sh up [--real-node]|down|purge|status|pause|resume : a local Kubernetes control
# plane on loopback, for the end-to-end suite and the quick start when no cluster is configured.
#
#   etcd -> kube-apiserver (Pod Security Admission on, RBAC, the platform's audit policy with its
#   log in logs/audit.log, Secrets encrypted at rest) -> kube-controller-manager,
#   kube-scheduler -> kwok (fake nodes across three zones; pods reported Running and Ready,
#   Job pods Succeeded, claims bound to fake volumes). Nothing runs in those pods.
#   --real-node adds one node where pods run for real (scripts/cluster/node.sh; root only).
#
# Binaries come from scripts/tools.sh cluster (built from Go modules, cached outside the clone).
# State, certificates, logs and PIDs live in $PYNOMALY_CLUSTER (default .tools/cluster in the
# clone). `down` stops what `up` started, by recorded PID; `purge` also deletes the state.
# Prints the kubeconfig path on success.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/env.sh"
ROOT=${PYNOMALY_CLUSTER:-$REPO/.tools/cluster}
BIN=$PYNOMALY_TOOLS/bin
PKI=$ROOT/pki LOGS=$ROOT/logs PIDS=$ROOT/pids
KUBECONFIG_OUT=$ROOT/kubeconfig
NODES=${NODES:-3}
# Loopback ports away from the usual ones, so a developer's own cluster is never in the way.
ETCD_CLIENT=22379 ETCD_PEER=22380 APISERVER=26443 KCM=22257 SCHEDULER=22259 KWOK=22247
SERVICE_CIDR=10.96.0.0/16
# shellcheck source=cluster/node.sh
source "$HERE/cluster/node.sh"

log() { echo "[cluster $(date +%T)] $*" >&2; }
die() { echo "[cluster] error: $*" >&2; exit 1; }
kc() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_OUT" "$@"; }

# exe NAME: what the process NAME runs: the tools cache's build, but for the real node's
# container runtime, which is Debian's.
exe() { if [ "$1" = containerd ]; then echo /usr/bin/containerd; else echo "$BIN/$1"; fi; }

running() { # name: the recorded PID is alive and is our binary
  local f=$PIDS/$1.pid
  [ -f "$f" ] && [ -d "/proc/$(cat "$f")" ] && tr '\0' ' ' <"/proc/$(cat "$f")/cmdline" | grep -q -- "$(exe "$1")"
}

start() { # name args... (START_WRAPPER, if set, is a command the binary runs under)
  local name=$1; shift
  # shellcheck disable=SC2086 # the wrapper is words
  nohup ${START_WRAPPER:-} "$(exe "$name")" "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

wait_for() { # what seconds command...
  local what=$1 seconds=$2 i=0; shift 2
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt $((seconds * 4)) ] || die "timed out waiting for $what (logs: $LOGS)"
    sleep 0.25
  done
}

kubeconfig() { # file user
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: pynomaly-local
  cluster: {server: "https://127.0.0.1:$APISERVER", certificate-authority: "$PKI/ca.crt"}
users:
- name: $2
  user: {client-certificate: "$PKI/$2.crt", client-key: "$PKI/$2.key"}
contexts:
- name: pynomaly-local
  context: {cluster: pynomaly-local, user: $2}
current-context: pynomaly-local
YAML
}

# encryption_config FILE: Secrets encrypted at rest in etcd (secretbox, a key of the cluster's own,
# made once and kept with its state: a new key would leave the stored Secrets unreadable). The
# identity provider, last, only reads what was stored before encryption was on.
encryption_config() {
  [ -s "$1" ] && return
  (umask 077; cat >"$1" <<YAML
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - secretbox:
          keys:
            - {name: local-1, secret: "$(head -c 32 /dev/urandom | base64)"}
      - identity: {}
YAML
  )
}

# The advertise address only goes into the kubernetes Service's endpoints, which may not be
# loopback; it is a documentation address (TEST-NET-2). Without the real node nothing listens on
# it; with it, the node's dummy link carries it and the server listens there too, for the pods.
start_apiserver() {
  local bind=127.0.0.1
  real_node_enabled && bind=0.0.0.0
  start kube-apiserver --bind-address=$bind --secure-port=$APISERVER --advertise-address=$API_ADDR \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" --service-cluster-ip-range=$SERVICE_CIDR \
    --kubelet-preferred-address-types=InternalIP,Hostname --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=PodSecurity,ResourceQuota,LimitRanger,NodeRestriction --profiling=false \
    --audit-policy-file="$HERE/cluster/audit-policy.yaml" --audit-log-path="$LOGS/audit.log" --audit-log-maxsize=100 --audit-log-maxbackup=2 \
    --encryption-provider-config="$ROOT/encryption.yaml"
  wait_for kube-apiserver 180 kc get --raw /readyz
}

up() {
  local real=${1:-}
  if running kube-apiserver && kc get --raw /readyz >/dev/null 2>&1; then
    if [ -n "$real" ] && ! real_node_enabled; then die "the cluster runs without the real node: scripts/cluster.sh down first"; fi
    echo "$KUBECONFIG_OUT"; return
  fi
  for n in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    running "$n" && die "$n is running but the cluster is not healthy: scripts/cluster.sh down first"
  done
  bash "$HERE/tools.sh" cluster >&2
  local t0=$SECONDS
  mkdir -p "$LOGS" "$PIDS"
  rm -f "$ROOT/real-node"
  if [ -n "$real" ]; then touch "$ROOT/real-node"; node_link; fi
  bash "$HERE/cluster/pki.sh" "$PKI"
  encryption_config "$ROOT/encryption.yaml"
  kubeconfig "$KUBECONFIG_OUT" admin
  for u in controller-manager scheduler kwok; do kubeconfig "$ROOT/$u.kubeconfig" "$u"; done

  start etcd --name pynomaly --data-dir "$ROOT/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "pynomaly=http://127.0.0.1:$ETCD_PEER" --listen-metrics-urls "http://127.0.0.1:22381" \
    --auto-compaction-retention=1 --quota-backend-bytes=2147483648
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_CLIENT/health"

  start_apiserver
  start kube-controller-manager --kubeconfig="$ROOT/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$ROOT/controller-manager.kubeconfig" --authorization-kubeconfig="$ROOT/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=$KCM --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" --service-cluster-ip-range=$SERVICE_CIDR \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" --profiling=false
  start kube-scheduler --kubeconfig="$ROOT/scheduler.kubeconfig" \
    --authentication-kubeconfig="$ROOT/scheduler.kubeconfig" --authorization-kubeconfig="$ROOT/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=$SCHEDULER --leader-elect=false --profiling=false
  # Leases of a previous kwok (another holder) would keep it from managing the nodes for 40 s.
  kc -n kube-node-lease delete lease --all --ignore-not-found >/dev/null 2>&1 || true
  start kwok --kubeconfig="$ROOT/kwok.kubeconfig" --config="$HERE/cluster/kwok.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip=127.0.0.1 --cidr=10.244.0.0/16 --server-address=127.0.0.1:$KWOK
  wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$KCM/healthz"
  wait_for kube-scheduler 60 curl -fsSk "https://127.0.0.1:$SCHEDULER/healthz"
  wait_for kwok 60 curl -fsS "http://127.0.0.1:$KWOK/healthz"

  local i zones=(a b c)
  for i in $(seq 0 $((NODES - 1))); do
    kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake}
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/region: local
    topology.kubernetes.io/zone: zone-${zones[$((i % 3))]}
    type: kwok
status:
  allocatable: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi}
  capacity: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi}
YAML
  done
  wait_for "$NODES nodes Ready" 60 kc wait --for=condition=Ready node -l type=kwok --timeout=1s
  # Pods are admitted only once the controller manager has made the default ServiceAccount.
  wait_for "default ServiceAccount" 60 kc -n default get serviceaccount default
  if [ -n "$real" ]; then node_up; fi
  log "cluster up in $((SECONDS - t0))s"
  echo "$KUBECONFIG_OUT"
}

stop() { # name
  local f=$PIDS/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if running "$1"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 40); do [ -d "/proc/$pid" ] || break; sleep 0.25; done
    if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

down() {
  node_down
  stop kwok; stop kube-scheduler; stop kube-controller-manager; stop kube-apiserver; stop etcd
  log "cluster stopped"
}

case ${1:-} in
  up) case ${2:-} in ''|--real-node) up "${2:-}" ;; *) die "unknown option ${2}" ;; esac ;;
  down) down ;;
  purge) down; rm -rf "$ROOT"; log "cluster state removed" ;;
  status) running kube-apiserver && kc get --raw /readyz && echo ;;
  # Failure drills: kill the API server alone (as a crash would), and start it again on the
  # same state.
  pause) kill -KILL "$(cat "$PIDS/kube-apiserver.pid")" 2>/dev/null || true; stop kube-apiserver; log "kube-apiserver killed" ;;
  resume) running kube-apiserver || start_apiserver; log "kube-apiserver running" ;;
  *) echo "usage: scripts/cluster.sh up [--real-node]|down|purge|status|pause|resume" >&2; exit 2 ;;
esac
