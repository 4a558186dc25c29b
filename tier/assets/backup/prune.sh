# shellcheck shell=sh
# shellcheck disable=SC2012 # ls lists the backups, named by their UTC time, in order
# shellcheck disable=SC2164 # the including script runs under set -e
cd "$BACKUP_DIR"
rm -rf ./*.partial
newest=$(ls -1d 20*Z 2>/dev/null | tail -n 1 || true)
find . -mindepth 1 -maxdepth 1 \( -name '20*Z' -o -name "${LEGACY:-20*Z}" \) -mtime "+$RETENTION_DAYS" \
  ! -name "${newest:-none}" -print -exec rm -rf {} +
