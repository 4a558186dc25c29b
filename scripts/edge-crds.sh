#!/usr/bin/env bash
# scripts/edge-crds.sh : the CustomResourceDefinitions the edge tier's objects need, as files of
# the Go module cache (fetched through the module proxy when missing; never copied into the
# repository). Prints one manifest path a line; the end-to-end suite (tests/e2e/edge_test.go)
# applies them to the local cluster.
#   cert-manager   deploy/crds/             Certificate, Issuer, ClusterIssuer, ...
#   Gateway API    config/crd/standard/     Gateway, HTTPRoute, ... (the standard channel)
#   Envoy Gateway  its Helm chart's CRDs    BackendTrafficPolicy
# Versions: the newest the module proxy serves that this Go toolchain can download
# (go list -m -versions MODULE; gateway-api v1.7.0 needs Go 1.27). NGINX Gateway Fabric is not
# served by the proxy: its policies are covered by the mocked tests only.
set -euo pipefail
source "$(dirname "$0")/env.sh"
modules=(
  "github.com/cert-manager/cert-manager@v1.21.2 deploy/crds/*.yaml"
  "sigs.k8s.io/gateway-api@v1.6.3 config/crd/standard/*.yaml"
  "github.com/envoyproxy/gateway@v1.9.1 charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_backendtrafficpolicies.yaml"
)
# Outside the project's module, so nothing can touch go.mod.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for m in "${modules[@]}"; do
  read -r module glob <<<"$m"
  json=$(go mod download -json "$module") || { echo "edge-crds: $module: $json" >&2; exit 1; }
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$json")
  [ -d "$dir" ] || { echo "edge-crds: $module has no module directory: $json" >&2; exit 1; }
  # shellcheck disable=SC2086 # the glob is meant to expand
  ls -1 $dir/$glob
done
