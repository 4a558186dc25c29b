#!/usr/bin/env bash
# scripts/render-compare.sh [REV] : render dev, staging and prod to manifests with the program
# at REV (default: HEAD) and with the working tree, and diff them. A refactoring that promises
# "no change to what is deployed" shows an empty diff here.
#
# Generated values differ between any two renders and are masked before the diff: Secret data
# (fresh random credentials per stack), the random suffix Pulumi appends to an auto-name (in file
# names and wherever another object refers to one), and a StatefulSet's claim generation (a
# random id drawn per claim template).
set -euo pipefail
source "$(dirname "$0")/env.sh"
REV=${1:-HEAD}
cd "$REPO"
bash scripts/tools.sh pulumi
install_plugins

work=$(mktemp -d "${TMPDIR:-/tmp}/render-compare.XXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/before" "$work/after"
git archive "$REV" | tar -x -C "$work/before"
# The working tree's program: everything git knows or would add, without tests.
git ls-files -co --exclude-standard | grep -v '^tests/' | while read -r f; do [ -e "$f" ] && echo "$f"; done |
  tar -c -T - | tar -x -C "$work/after"

render() { # tree stack
  local tree=$1 stack=$2 out=$1/rendered/$2
  (
    cd "$tree"
    export PULUMI_BACKEND_URL=file://$tree/.state
    mkdir -p .state
    pulumi stack init "$stack" --non-interactive >/dev/null
    pulumi config set --stack "$stack" --path kubernetes.renderYamlToDirectory "$out" >/dev/null
    pulumi up --stack "$stack" --yes --skip-preview --non-interactive >"$tree/up-$stack.log" 2>&1 ||
      { cat "$tree/up-$stack.log"; exit 1; }
  )
  # Mask what differs on every render: generated credentials and auto-name suffixes.
  local f masked args
  for f in "$out"/*/*.yaml; do
    masked=$(echo "$f" | sed -E "$suffix")
    args=(-E -e "$suffix" -e 's/^( *pynomaly\.io\/claim-generation: ).*/\1<generated>/')
    # Secret data is a fresh random credential per stack; ConfigMap data is compared as is.
    case $f in */v1-secret-*) args+=(-e '/^(data|stringData):/,/^[a-z]/{s/^(  [A-Za-z0-9_.-]+: ).*/\1<generated>/}') ;; esac
    sed "${args[@]}" "$f" >"$f.masked"
    rm -f "$f"
    mv "$f.masked" "$masked"
  done
}

# Pulumi appends a dash and eight random hexadecimal digits to an auto-name; no name the
# program gives an object itself ends in a word of eight of them (headless, failover and replicas do not).
suffix='s/(pynomaly-[a-z0-9-]*[a-z])-[0-9a-f]{8}\b/\1-<suffix>/g'
status=0
for stack in dev staging prod; do
  render "$work/before" "$stack"
  render "$work/after" "$stack"
  n=$(find "$work/after/rendered/$stack" -name '*.yaml' | wc -l)
  if diff -ru "$work/before/rendered/$stack" "$work/after/rendered/$stack" >"$work/$stack.diff"; then
    echo "$stack: $n manifests, identical to $REV"
  else
    echo "$stack: differs from $REV:"; sed 's/^/  /' "$work/$stack.diff"; status=1
  fi
done
exit $status
