#!/usr/bin/env bash
# scripts/test.sh [--unit] : every test of the project, as CI runs it (.ci/run calls this).
#   1. build, vet, and the unit suite: the program against a mocked engine, and the generated
#      configuration files against real PostgreSQL, Redis, PgBouncer and nginx (seconds);
#   2. the end-to-end suite (scripts/e2e.sh): the real engine and a local Kubernetes control
#      plane. Its toolchain is built from Go modules on first use (about 23 minutes on 2 cores,
#      then cached outside the clone). --unit stops after step 1.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/env.sh
# The unit suite checks generated configuration with the real servers from Debian's packages
# (and the monitoring tier's with promtool and amtool; their services are never started).
ensure_packages '/usr/lib/postgresql/*/bin/postgres:postgresql' redis-server:redis-server pgbouncer:pgbouncer \
  /usr/sbin/nginx:nginx-light promtool:prometheus amtool:prometheus-alertmanager curl:curl

echo "== go build, go vet"
go build ./...
go vet ./...
echo "== unit suite (mocked engine)"
go test -count=1 ./...
if [ "${1:-}" != "--unit" ]; then
  echo "== end-to-end suite"
  bash scripts/e2e.sh
fi
