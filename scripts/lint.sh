#!/usr/bin/env bash
# scripts/lint.sh : the repository's own linters, part of the unit stage of scripts/test.sh.
#   actionlint  the GitHub workflows in .github/ (built from its Go module by tools.sh lint);
#               it runs shellcheck over every `run:` block too
#   then every script in scripts/ through Debian's shellcheck (.shellcheckrc lets it follow
#   `source`), and every script the components run (each tier's assets/), as their pods run it:
#   cmd/lintscripts writes each one out, templates filled in, after its lint header
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
ensure_packages shellcheck:shellcheck
bash scripts/tools.sh lint
actionlint -color=false -shellcheck="$(command -v shellcheck)"
mapfile -t scripts < <(git ls-files 'scripts/*.sh' 'scripts/**/*.sh' '.ci/run')
shellcheck "${scripts[@]}"
rendered=$(mktemp -d "${TMPDIR:-/tmp}/lint-scripts.XXXX")
trap 'rm -rf "$rendered"' EXIT
go run ./cmd/lintscripts "$rendered"
mapfile -t assets < <(find "$rendered" -name '*.sh' | sort)
shellcheck "${assets[@]}"
echo "lint: actionlint and shellcheck clean (${#scripts[@]} scripts, ${#assets[@]} the tiers run)"
