#!/usr/bin/env bash
# scripts/e2e.sh : the end-to-end suite. Builds what is missing of the toolchain and the local
# control plane (cached outside the clone), starts the cluster, runs every stack through the
# real engine (tests/e2e, build tag e2e), runs the failover drills (their measured times are the
# lines starting with DRILL), and stops the cluster again.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
t0=$SECONDS
# The cluster script makes its certificates with openssl and probes health with curl. The
# failover drills run the real servers as the database StatefulSets' members: Patroni with
# PostgreSQL, Redis with Sentinel (binaries only; ensure_packages keeps their services off).
ensure_packages openssl:openssl curl:curl patroni:patroni '/usr/lib/postgresql/*/bin/postgres:postgresql' \
  redis-server:redis-server redis-sentinel:redis-sentinel
bash scripts/tools.sh all
install_plugins
# A fresh cluster every run: objects left by an interrupted run would make previews fail.
bash scripts/cluster.sh purge >/dev/null 2>&1 || true
kubeconfig=$(bash scripts/cluster.sh up)
trap 'bash scripts/cluster.sh down' EXIT
echo "== toolchain and cluster ready after $((SECONDS - t0))s"
PYNOMALY_E2E_KUBECONFIG=$kubeconfig go test -tags e2e -count=1 -timeout 60m -v ./tests/e2e/
echo "== end-to-end suite passed in $((SECONDS - t0))s"
