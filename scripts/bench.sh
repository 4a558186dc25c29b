#!/usr/bin/env bash
# scripts/bench.sh [STACK] : how long `pulumi up` and a no-change `pulumi preview` take on the
# local cluster, against `kubectl apply --server-side` of the same stack's rendered manifests
# followed by the same readiness waits, all in one run on one machine, so the ratios compare
# like with like. Each figure is the median of BENCH_RUNS runs (default 3).
#
#   pulumi up           from an empty cluster to every workload Ready and every Job complete
#   pulumi preview      no change (what every pull request pays)
#   kubectl, unordered  apply everything at once, then wait for the same readiness
#   kubectl, ordered    apply in the program's order: data tier, setup jobs, pooler,
#                       migration, then the app, waiting after each step
#   BENCH_REV=<commit> measures that commit's program instead of the working tree.
#   growth (BENCH_GROWTH=1, the default): the data tier at five members each, and a second
#                       stack in the same cluster while the first runs
#
# The program runs as a prebuilt binary (runtime.options.binary), so no figure includes a
# Go compile.
set -euo pipefail
source "$(dirname "$0")/env.sh"
STACK=${1:-prod}
RUNS=${BENCH_RUNS:-3}
cd "$REPO"
bash scripts/tools.sh all
install_plugins
bash scripts/cluster.sh purge >/dev/null 2>&1 || true
# Five nodes, so the growth run's five-member StatefulSets fit prod's required spread.
KC=$(NODES=${BENCH_NODES:-5} bash scripts/cluster.sh up)
work=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXX")
trap 'bash scripts/cluster.sh down; rm -rf "$work"' EXIT
kc() { kubectl --kubeconfig "$KC" "$@"; }
# staging and prod declare cert-manager objects (tls.internal), and prod a Gateway and a
# VolumeSnapshotClass, so the cluster needs their definitions, prod's GatewayClass and EKS's pod
# identity webhook, as the end-to-end suite installs them (nothing runs cert-manager or a Gateway;
# neither pulumi nor the readiness waits below wait for them).
crds=(); while read -r f; do crds+=(-f "$f"); done < <(bash scripts/crds.sh edge; bash scripts/crds.sh snapshots)
kc apply --server-side --force-conflicts --field-manager pynomaly-bench "${crds[@]}" >/dev/null
kc wait --for=condition=Established --timeout=60s crd certificates.cert-manager.io issuers.cert-manager.io \
  gateways.gateway.networking.k8s.io volumesnapshotclasses.snapshot.storage.k8s.io >/dev/null
kc apply --server-side --field-manager pynomaly-bench -f - >/dev/null <<'YAML'
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: pod-identity-webhook}
webhooks: []
YAML
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# The project: the program as the working tree has it (or as commit BENCH_REV had it, to
# measure a before and an after in the same conditions), built once, run as a binary.
proj=$work/project
mkdir -p "$proj"
if [ -n "${BENCH_REV:-}" ]; then
  git archive "$BENCH_REV" | tar -x -C "$proj"
else
  git ls-files -co --exclude-standard | grep -v '^tests/' | while read -r f; do [ -e "$f" ] && echo "$f"; done |
    tar -c -T - | tar -x -C "$proj"
fi
# Earlier commits declare `runtime: go`, later ones a buildTarget: either becomes the binary.
(cd "$proj" && go build -o bin/pynomaly-platform . &&
  sed -i -e 's|^runtime: go$|runtime:\n  name: go\n  options:\n    binary: bin/pynomaly-platform|' \
    -e 's|^    buildTarget: bin/pynomaly-platform$|    binary: bin/pynomaly-platform|' Pulumi.yaml &&
  grep -q '^    binary: bin/pynomaly-platform$' Pulumi.yaml)
export PULUMI_BACKEND_URL=file://$work/state
mkdir -p "$work/state"
pl() { (cd "$proj" && pulumi "$@" --non-interactive); }

# Every bench stack starts from the measured revision's settings for STACK.
cp "$proj/Pulumi.$STACK.yaml" "$work/settings.yaml"

# stack NAME [KEY VALUE]... : a stack of $STACK's settings, on the local cluster, plus overrides.
stack() {
  local name=$1; shift
  pl stack init "$name" >/dev/null 2>&1 || true
  cp "$work/settings.yaml" "$proj/Pulumi.$name.yaml"
  # The render stack writes files; every other one deploys to the local cluster.
  if [ "$name" != render ]; then
    pl config set --stack "$name" --path kubernetes.kubeconfig "$KC" >/dev/null
    # The local cluster has no metrics-server; revisions with a preflight would stop on it.
    if grep -q skipPreflight "$proj/Pulumi.yaml"; then
      pl config set --stack "$name" --path 'kubernetes.skipPreflight[0]' metrics-api >/dev/null
    fi
  fi
  while [ $# -gt 0 ]; do pl config set --stack "$name" --path "$1" "$2" >/dev/null; shift 2; done
}

# teardown NAMESPACE: remove what a run left, protected objects included, and wait until gone.
# Cluster-scoped objects go first: while the metrics adapter's APIService names a Service that
# is gone, API discovery fails and the namespace controller does not finish the deletion.
teardown() {
  kc delete apiservices,clusterrolebindings,clusterroles,storageclasses -l app.kubernetes.io/part-of=pynomaly \
    --wait=true >/dev/null 2>&1 || true
  kc delete namespace "$1" --wait=true --timeout=5m >/dev/null 2>&1 || true
}

pulumi_round() { # name namespace : prints "up preview" seconds, then the stack's Pulumi resources and the pods it runs
  local t up preview resources pods
  t=$(now); pl up --stack "$1" --yes --skip-preview >"$work/up.log" 2>&1 || { tail -30 "$work/up.log" >&2; exit 1; }
  up=$(since "$t")
  t=$(now); pl preview --stack "$1" --expect-no-changes >"$work/preview.log" 2>&1 || { tail -30 "$work/preview.log" >&2; exit 1; }
  preview=$(since "$t")
  resources=$(pl stack export --stack "$1" | grep -c '"urn"')
  pods=$(kc -n "$2" get pods --no-headers 2>/dev/null | wc -l)
  pl state unprotect --stack "$1" --all --yes >/dev/null
  pl destroy --stack "$1" --yes --skip-preview >/dev/null
  teardown "$2"
  echo "$up $preview $resources $pods"
}

# The same stack rendered to manifests, for kubectl.
render=$work/rendered
stack render kubernetes.renderYamlToDirectory "$render"
pl up --stack render --yes --skip-preview >"$work/render.log" 2>&1 || { tail -30 "$work/render.log"; exit 1; }
m=$render/1-manifest
ns=$(kc create --dry-run=client -o jsonpath='{.metadata.name}' -f "$m"/v1-namespace-*.yaml)

wait_ready() { # kind [name...]: rollouts and jobs done, as pulumi awaits them
  case $1 in
    job) shift; for j in "$@"; do kc -n "$ns" wait --for=condition=complete --timeout=10m "job/$j" >/dev/null; done ;;
    *) local kind=$1; shift; for n in "$@"; do kc -n "$ns" rollout status --timeout=10m "$kind/$n" >/dev/null; done ;;
  esac
}
names() { # kind: names of that kind in the manifests
  local f
  grep -l "^kind: $1$" "$m"/*.yaml | while read -r f; do
    kc create --dry-run=client -o jsonpath='{.metadata.name}{"\n"}' -f "$f"
  done
}
wait_kind() { # kind Kind: wait for every object of that kind in the manifests
  local objects; mapfile -t objects < <(names "$2")
  wait_ready "$1" "${objects[@]}"
}
apply() { kc apply --server-side --force-conflicts "$@" >/dev/null; }
files() { local f; for f in "$@"; do echo "-f $f"; done; } # each manifest file as its own -f
all_but() { # file patterns to leave out
  local f skip
  for f in "$m"/*.yaml; do
    skip=
    for p in "$@"; do case $f in *$p*) skip=1 ;; esac; done
    [ -n "$skip" ] || echo "-f $f"
  done
}

kubectl_unordered() {
  local t; t=$(now)
  apply -f "$m"/v1-namespace-*.yaml
  # shellcheck disable=SC2046
  apply $(all_but v1-namespace-)
  wait_kind statefulset StatefulSet
  wait_kind deployment Deployment
  wait_kind job Job
  since "$t"
}

kubectl_ordered() {
  local t; t=$(now)
  apply -f "$m"/v1-namespace-*.yaml
  # shellcheck disable=SC2046
  apply $(all_but v1-namespace- batch_v1-job- apps_v1-deployment- horizontalpodautoscaler)
  wait_kind statefulset StatefulSet
  # shellcheck disable=SC2046
  apply $(files "$m"/batch_v1-job-*-setup.yaml)
  wait_ready job pynomaly-postgres-setup pynomaly-influxdb-setup
  apply -f "$m"/apps_v1-deployment-*-pooler.yaml
  wait_ready deployment pynomaly-postgres-pooler
  apply -f "$m"/batch_v1-job-*-db-migrate.yaml
  wait_ready job pynomaly-db-migrate
  # shellcheck disable=SC2046
  apply $(files "$m"/apps_v1-deployment-*.yaml "$m"/*horizontalpodautoscaler*.yaml)
  wait_kind deployment Deployment
  since "$t"
}

stack "$STACK"
declare -a ups previews unordered ordered
for i in $(seq "$RUNS"); do
  r=$(pulumi_round "$STACK" "$ns"); read -r u p base_resources base_pods <<<"$r"
  ups+=("$u"); previews+=("$p")
  unordered+=("$(kubectl_unordered)"); teardown "$ns"
  ordered+=("$(kubectl_ordered)"); teardown "$ns"
  echo "run $i: pulumi up $u s, preview $p s, kubectl unordered ${unordered[-1]} s, ordered ${ordered[-1]} s" >&2
done
up=$(median "${ups[@]}") preview=$(median "${previews[@]}")
un=$(median "${unordered[@]}") ord=$(median "${ordered[@]}")
resources=$(pl stack export --stack render | grep -c '"urn"')
echo "== $STACK, $resources Pulumi resources, $(find "$m" -name "*.yaml" | wc -l) Kubernetes objects; medians of $RUNS runs on $(nproc) cores"
printf '%-44s %7.1f s\n' "pulumi up (from nothing)" "$up" "pulumi preview (no change)" "$preview" \
  "kubectl apply + readiness, unordered" "$un" "kubectl apply + readiness, in dependency order" "$ord"
printf '%-44s %7s\n' "ratio pulumi up / kubectl unordered" "$(ratio "$up" "$un")" \
  "ratio pulumi up / kubectl ordered" "$(ratio "$up" "$ord")"

if [ "${BENCH_GROWTH:-1}" = 1 ]; then
  # One run each, beside the medians above: how up and preview grow with what the stack and the
  # cluster hold (its Pulumi resources; the pods, each awaited through its workload).
  echo "== growth (one run each; the first line is the last run above)"
  line() { printf '%-40s %4s resources %4s pods   up %6.1f s   preview %5.1f s\n' "$@"; }
  line "$STACK as committed" "$base_resources" "$base_pods" "${ups[-1]}" "${previews[-1]}"
  # The app tier's replica counts are its HPAs' (the Deployments declare none), so their maximums
  # change nothing Pulumi creates or awaits; the data tier's StatefulSets are awaited pod by pod.
  # Five members each (the quota raised to hold them; the cluster has five nodes, BENCH_NODES).
  stack "$STACK-max" postgres.replicas 5 redisQueue.replicas 5 redisCache.replicas 5 quota.requestsCpu 40 \
    quota.requestsMemory 160Gi quota.limitsCpu 210 quota.limitsMemory 360Gi quota.requestsStorage 3Ti
  r=$(pulumi_round "$STACK-max" "$ns"); read -r u p res pods <<<"$r"
  line "data tier at five members each" "$res" "$pods" "$u" "$p"
  stack "$STACK-a"
  pl up --stack "$STACK-a" --yes --skip-preview >"$work/a.log" 2>&1 || { tail -30 "$work/a.log" >&2; exit 1; }
  # A cluster has one external metrics API (an APIService), which the first stack's adapter
  # serves: the second stack scales its workers on CPU and memory only.
  stack "$STACK-b" namespace pynomaly-bench-b storage.className pynomaly-ssd-b worker.queueScaling.enabled false
  r=$(pulumi_round "$STACK-b" pynomaly-bench-b); read -r u p res pods <<<"$r"
  line "a second stack beside a running one" "$res" "$pods" "$u" "$p"
fi
