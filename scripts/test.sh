#!/usr/bin/env bash
# scripts/test.sh [--unit] : every test of the project, as CI runs it (.ci/run calls this).
#   1. actionlint and shellcheck (scripts/lint.sh), build, vet, and the unit suite: the program
#      against a mocked engine, its manifests against kube-score, and the generated configuration
#      files against real PostgreSQL, Redis, PgBouncer and nginx (`go test ./...`, seconds);
#      then the drills, the tests behind the build tag `drills` (rotation, point-in-time
#      restore): the program's own steps in order against real servers, under a minute;
#   2. the end-to-end suite (scripts/e2e.sh): the real engine and a local Kubernetes control
#      plane. Its toolchain is built from Go modules on first use (about 23 minutes on 2 cores,
#      then cached outside the clone). --unit stops after step 1.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/env.sh
# The unit suite checks generated configuration with the real servers from Debian's packages
# (and the monitoring tier's with promtool and amtool; their services are never started).
ensure_packages '/usr/lib/postgresql/*/bin/postgres:postgresql' redis-server:redis-server pgbouncer:pgbouncer \
  /usr/sbin/nginx:nginx-light promtool:prometheus amtool:prometheus-alertmanager curl:curl \
  prometheus-redis-exporter:prometheus-redis-exporter rclone:rclone \
  prometheus-node-exporter:prometheus-node-exporter /usr/bin/python3:python3

# Renovate's own schema of renovate.json, from its npm package (the package alone, without its
# dependencies: a tarball of 3 MB), once per version into the tools cache.
RENOVATE_VERSION=44.121.2
export PYNOMALY_RENOVATE_SCHEMA=$PYNOMALY_TOOLS/renovate-schema-$RENOVATE_VERSION.json
if [ ! -s "$PYNOMALY_RENOVATE_SCHEMA" ]; then
  ensure_packages npm:npm
  mkdir -p "$PYNOMALY_TOOLS"
  pack=$(mktemp -d)
  (cd "$pack" && npm pack --silent "renovate@$RENOVATE_VERSION" >/dev/null && tar -xzf renovate-*.tgz package/renovate-schema.json)
  mv "$pack/package/renovate-schema.json" "$PYNOMALY_RENOVATE_SCHEMA"
  rm -rf "$pack"
fi

# The unit stage's checkers (actionlint, kube-score) are built from their Go modules once into
# the tools cache (seconds), then reused; lint.sh builds them and runs the linters.
echo "== lint: workflows and scripts"
bash scripts/lint.sh
echo "== go build, go vet"
go build ./...
go vet ./...
go vet -tags drills ./tests
echo "== unit suite (mocked engine)"
go test -count=1 ./...
echo "== drills (real servers)"
drills=$(grep -l '^//go:build drills' tests/*_test.go | xargs grep -ho '^func Test[A-Za-z0-9_]*' | sed 's/^func //' | paste -sd '|')
go test -count=1 -tags drills -run "^(${drills})\$" ./tests
if [ "${1:-}" != "--unit" ]; then
  echo "== end-to-end suite"
  bash scripts/e2e.sh
fi
