#!/usr/bin/env bash
# scripts/test.sh : every test of the project, as CI runs it (.ci/run calls this).
#   build, vet, and the mocked-engine unit suite (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=${GOFLAGS:--buildvcs=false}

echo "== go build, go vet"
go build ./...
go vet ./...
echo "== unit suite (mocked engine)"
go test -count=1 ./...
