#!/usr/bin/env bash
# scripts/e2e.sh : the end-to-end suite. Builds what is missing of the toolchain and the local
# control plane (cached outside the clone), starts the cluster, runs every stack through the
# real engine (tests/e2e, build tag e2e), runs the failover drills (their measured times are the
# lines starting with DRILL), and stops the cluster again. Then the real-node stage: a fresh
# cluster with a node where pods run for real (scripts/cluster.sh up --real-node), dev deployed
# on it with images built here, and real traffic through it (build tags e2e,realnode; its
# measured times are the lines starting with REALNODE).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
t0=$SECONDS
# The cluster script makes its certificates with openssl and probes health with curl. The
# failover drills run the real servers as the database StatefulSets' members: Patroni with
# PostgreSQL, Redis with Sentinel (binaries only; ensure_packages keeps their services off).
# The real node runs containerd and runc, Debian's CNI plugins and kube-proxy's iptables; its
# images are built with mmdebstrap. The disaster-recovery test's stand-in for WAL-G reaches the
# test's S3 server with rclone.
ensure_packages openssl:openssl curl:curl patroni:patroni '/usr/lib/postgresql/*/bin/postgres:postgresql' rclone:rclone \
  redis-server:redis-server redis-sentinel:redis-sentinel containerd:containerd runc:runc \
  /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables conntrack:conntrack mmdebstrap:mmdebstrap
bash scripts/tools.sh all
install_plugins
if [ -z "${PYNOMALY_E2E_REAL_NODE_ONLY:-}" ]; then
  # A fresh cluster every run: objects left by an interrupted run would make previews fail.
  bash scripts/cluster.sh purge >/dev/null 2>&1 || true
  kubeconfig=$(bash scripts/cluster.sh up)
  trap 'bash scripts/cluster.sh down' EXIT
  echo "== toolchain and cluster ready after $((SECONDS - t0))s"
  PYNOMALY_E2E_KUBECONFIG=$kubeconfig go test -tags e2e -count=1 -timeout 75m -v ./tests/e2e/
  echo "== end-to-end suite passed in $((SECONDS - t0))s"
fi

t1=$SECONDS
bash scripts/cluster.sh purge >/dev/null 2>&1 || true
bash scripts/tools.sh node
bash scripts/node-images.sh build
echo "REALNODE toolchain and images ready in $((SECONDS - t1))s"
t2=$SECONDS
kubeconfig=$(bash scripts/cluster.sh up --real-node)
trap 'bash scripts/cluster.sh down' EXIT
echo "REALNODE cluster with the real node up in $((SECONDS - t2))s"
PYNOMALY_E2E_KUBECONFIG=$kubeconfig go test -tags e2e,realnode -count=1 -timeout 30m -v -run '^TestRealNode' ./tests/e2e/
echo "== real-node stage passed in $((SECONDS - t1))s"
