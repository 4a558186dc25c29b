#!/usr/bin/env bash
# scripts/settings.sh [--json] STACK : the effective settings of a stack (its environment's profile
# with the overrides of Pulumi.STACK.yaml) as YAML, credentials redacted. It runs the program's
# own load.Parse on the stack file: no engine, backend or passphrase, and a stack with bad
# settings prints the errors `pulumi preview` would. A deployed stack shows the same as
# `pulumi stack output settings`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
exec go run ./cmd/settings "$@"
