#!/usr/bin/env bash
# scripts/restore.sh [--influxdb] [--from BACKUP] [--kubeconfig FILE] [--namespace NS] : restore
# PostgreSQL (or, with --influxdb, InfluxDB) from a backup of its nightly CronJob (docs/operations.md:
# "Restore").
#   1. stops the writers: the API and the workers scaled to 0 (their HPAs pause at 0);
#   2. runs the restore as a Job made from the backup CronJob's own pod (cmd/restorejob): the
#      newest complete backup on the backup volume, or --from 20261125T020000Z;
#   3. waits for it (at most an hour, the seed's RTO), then scales the API and workers back to
#      their HPAs' minimum, which the HPAs then own again.
# Without the Job completing, the writers stay stopped and the script says so.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
db=postgres from="" ns=pynomaly-data-science kc=()
while [ $# -gt 0 ]; do
  case $1 in
    --influxdb) db=influxdb; shift ;;
    --from) from=$2; shift 2 ;;
    --namespace) ns=$2; shift 2 ;;
    --kubeconfig) kc=(--kubeconfig "$2"); shift 2 ;;
    *) echo "usage: restore.sh [--influxdb] [--from BACKUP] [--kubeconfig FILE] [--namespace NS]" >&2; exit 2 ;;
  esac
done
k() { kubectl "${kc[@]}" -n "$ns" "$@"; }

echo "== stopping the writers (API, workers)"
k scale deployment pynomaly-api pynomaly-worker --replicas=0
job=pynomaly-$db-restore-$(date -u +%Y%m%dt%H%M%S)
echo "== restoring $db from ${from:-the newest backup} with job/$job"
k get cronjob "pynomaly-$db-backup" -o json | go run ./cmd/restorejob --database "$db" --from "$from" --name "$job" | k create -f -
if ! k wait --for=condition=complete --timeout=1h "job/$job"; then
  echo "restore.sh: job/$job did not complete; the API and workers stay at 0 replicas. Logs: kubectl -n $ns logs job/$job" >&2
  exit 1
fi
k logs "job/$job" --tail=20 2>/dev/null || true
echo "== starting the writers again"
for d in pynomaly-api pynomaly-worker; do
  k scale deployment "$d" --replicas="$(k get hpa "$d" -o jsonpath='{.spec.minReplicas}')"
done
echo "restore.sh: restored $db from ${from:-the newest backup}; job/$job"
