#!/usr/bin/env bash
# scripts/quickstart.sh [STACK] : the main job. Builds the Pulumi toolchain if it is missing, then
# previews and deploys a stack (dev by default) with its committed settings.
#
# With no cluster configured (no kubernetes.kubeconfig in the stack and no reachable ambient
# kubeconfig) the manifests are rendered to rendered/<stack>/ instead, through the provider's
# renderYamlToDirectory mode; nothing in the stack file is changed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
STACK=${1:-dev}
cd "$REPO"

bash scripts/tools.sh pulumi
install_plugins
stack_select "$STACK"

args=()
if ! pulumi config get --path kubernetes.kubeconfig >/dev/null 2>&1 &&
   ! { command -v kubectl >/dev/null && kubectl version --request-timeout=5s >/dev/null 2>&1; }; then
  # A config file of our own: the committed stack file plus the render directory.
  tmp=$(mktemp "${TMPDIR:-/tmp}/Pulumi.$STACK.XXXX.yaml")
  trap 'rm -f "$tmp"' EXIT
  cp "Pulumi.$STACK.yaml" "$tmp"
  pulumi config set --config-file "$tmp" --path kubernetes.renderYamlToDirectory "rendered/$STACK"
  args=(--config-file "$tmp")
  echo "No cluster configured: rendering $STACK manifests to rendered/$STACK (Secrets in them are plain text)."
fi
pulumi preview "${args[@]}"
pulumi up --yes --skip-preview "${args[@]}"
pulumi stack output
