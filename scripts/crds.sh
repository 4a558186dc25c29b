#!/usr/bin/env bash
# scripts/crds.sh SET : the CustomResourceDefinitions a tier's objects need, as files of the Go
# module cache (fetched through the module proxy when missing; never copied into the
# repository). Prints one manifest path a line; the end-to-end suite applies them to the local
# cluster (tests/e2e/edge_test.go, tests/e2e/monitoring_test.go).
#   edge        cert-manager   deploy/crds/             Certificate, Issuer, ClusterIssuer, ...
#               Gateway API    config/crd/standard/     Gateway, HTTPRoute, ... (the standard channel)
#               Envoy Gateway  its Helm chart's CRDs    BackendTrafficPolicy
#   monitoring  Prometheus Operator  example/prometheus-operator-crd/  PodMonitor, PrometheusRule
#   secrets     External Secrets Operator  config/crds/bases/  ExternalSecret, SecretStore,
#               ClusterSecretStore (secrets.source external; the version tools.sh builds)
#   snapshots   external-snapshotter's client module  config/crd/  VolumeSnapshot,
#               VolumeSnapshotClass, VolumeSnapshotContent (storage.snapshots)
# Versions: the newest the module proxy serves that this Go toolchain can download
# (go list -m -versions MODULE; gateway-api v1.7.0 needs Go 1.27). NGINX Gateway Fabric is not
# served by the proxy: its policies are covered by the mocked tests only.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# Each entry: module@version, then the globs of its manifests inside the module.
case ${1:-} in
  edge) modules=(
    "github.com/cert-manager/cert-manager@v1.21.2 deploy/crds/*.yaml"
    "sigs.k8s.io/gateway-api@v1.6.3 config/crd/standard/*.yaml"
    "github.com/envoyproxy/gateway@v1.9.1 charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_backendtrafficpolicies.yaml"
  ) ;;
  monitoring) modules=(
    "github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  ) ;;
  secrets) modules=(
    "github.com/external-secrets/external-secrets@v0.16.2 config/crds/bases/external-secrets.io_externalsecrets.yaml config/crds/bases/external-secrets.io_secretstores.yaml config/crds/bases/external-secrets.io_clustersecretstores.yaml"
  ) ;;
  snapshots) modules=(
    "github.com/kubernetes-csi/external-snapshotter/client/v8@v8.7.0 config/crd/snapshot.storage.k8s.io_*.yaml"
  ) ;;
  *) echo "usage: $0 edge|monitoring|secrets|snapshots" >&2; exit 2 ;;
esac
# Outside the project's module, so nothing can touch go.mod.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for m in "${modules[@]}"; do
  read -r module globs <<<"$m"
  json=$(go mod download -json "$module") || { echo "crds: $module: $json" >&2; exit 1; }
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$json")
  [ -d "$dir" ] || { echo "crds: $module has no module directory: $json" >&2; exit 1; }
  for glob in $globs; do
    # shellcheck disable=SC2086 # the glob is meant to expand
    ls -1 $dir/$glob
  done
done
