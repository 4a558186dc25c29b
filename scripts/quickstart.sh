#!/usr/bin/env bash
# scripts/quickstart.sh [STACK] : the main job. Builds what is missing of the toolchain, then
# previews and deploys a stack (dev by default) with its committed settings.
#
# Where it deploys:
#   - the stack's kubernetes.kubeconfig when it sets one, else the ambient kubeconfig when a
#     cluster answers there;
#   - otherwise the local control plane of scripts/cluster.sh, started (and built) on demand;
#   - PYNOMALY_RENDER=1 renders the manifests to rendered/<stack>/ instead (no cluster at all;
#     Secrets in those files are plain text).
# The committed stack file is never modified: the extra setting goes into a copy of it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
STACK=${1:-dev}
cd "$REPO"

bash scripts/tools.sh pulumi
install_plugins
stack_select "$STACK"

args=()
with_setting() { # key value: run with a copy of the stack file that adds one setting
  tmp=$(mktemp "${TMPDIR:-/tmp}/Pulumi.$STACK.XXXX.yaml")
  trap 'rm -f "$tmp"' EXIT
  cp "Pulumi.$STACK.yaml" "$tmp"
  pulumi config set --config-file "$tmp" --path "$1" "$2"
  args=(--config-file "$tmp")
}
if [ -n "${PYNOMALY_RENDER:-}" ]; then
  with_setting kubernetes.renderYamlToDirectory "rendered/$STACK"
  echo "Rendering $STACK manifests to rendered/$STACK (Secrets in them are plain text)."
elif pulumi config get --path kubernetes.kubeconfig >/dev/null 2>&1; then
  echo "Deploying $STACK to the cluster its stack file names."
elif command -v kubectl >/dev/null && kubectl version --request-timeout=5s >/dev/null 2>&1; then
  echo "Deploying $STACK to the ambient kubeconfig's cluster ($(kubectl config current-context))."
else
  echo "No cluster configured: starting the local control plane (scripts/cluster.sh)."
  with_setting kubernetes.kubeconfig "$(bash scripts/cluster.sh up)"
fi
pulumi preview "${args[@]}"
pulumi up --yes --skip-preview "${args[@]}"
pulumi stack output
