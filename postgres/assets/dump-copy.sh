# shellcheck shell=sh
# shellcheck disable=SC2012 # ls lists the backups, named by their UTC time, in order
set -eu
cd "$BACKUP_DIR"
newest=$(ls -1d 20*Z | tail -n 1)
for f in "$newest"/*; do
  wal-g st put --no-compress "$f" "$f"
done
echo "copied $newest to ${WALG_S3_PREFIX:-${WALG_GS_PREFIX:-${WALG_AZ_PREFIX:-}}}"
