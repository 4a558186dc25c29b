# shellcheck shell=sh
# shellcheck disable=SC2012 # ls lists the backups, named by their UTC time, in order
# shellcheck disable=SC2015 # the message and exit are for either test failing
set -eu
cd "$BACKUP_DIR"
from=${RESTORE_FROM:-$(ls -1d 20*Z 2>/dev/null | tail -n 1 || true)}
[ -n "$from" ] && [ -f "$from/$PGDATABASE.dump" ] || { echo "no complete backup ${from:-at all} in $BACKUP_DIR" >&2; exit 1; }
echo "restoring $BACKUP_DIR/$from into $PGDATABASE on $PGHOST"
start=$(date +%s)
psql -X -q -d postgres -f "$from/globals.sql" 2>&1 | grep -v 'already exists' || true
pg_restore --clean --if-exists --exit-on-error -d "$PGDATABASE" "$from/$PGDATABASE.dump"
echo "restored $from in $(( $(date +%s) - start ))s"
