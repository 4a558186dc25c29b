# shellcheck shell=sh
# shellcheck disable=SC2012 # ls lists the backups, named by their UTC time, in order
set -eu
cd "$BACKUP_DIR"
from=${RESTORE_FROM:-$(ls -1d 20*Z 2>/dev/null | tail -n 1 || true)}
case $from in 20*Z) ;; *) echo "no complete backup ${from:-at all} in $BACKUP_DIR" >&2; exit 1 ;; esac
[ -d "$from" ] || { echo "no complete backup $from in $BACKUP_DIR" >&2; exit 1; }
until influx ping >/dev/null 2>&1; do echo "waiting for influxdb"; sleep 2; done
echo "restoring $BACKUP_DIR/$from into $INFLUX_HOST"
start=$(date +%s)
influx restore --full "$from"
echo "restored $from in $(( $(date +%s) - start ))s"
