# shellcheck shell=sh
# shellcheck disable=SC2012 # ls lists the backups, named by their UTC time, in order
set -eu
cd "$COPY_DIR"
if [ "$COPY_NEWEST" = true ]; then
  stamp=$(ls -1d 20*Z 2>/dev/null | tail -n 1 || true)
  if [ -z "$stamp" ]; then
    echo "no complete backup in $COPY_DIR" >&2
    exit 1
  fi
  cd "$stamp"
else
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
fi
store=${WALG_S3_PREFIX:-${WALG_GS_PREFIX:-${WALG_AZ_PREFIX:-}}}
# copies reads `wal-g st ls` and prints the copies, oldest first. WAL-G 3.0 prints a table
# ("type size last modified name", aligned with spaces, the time itself holding spaces; later
# versions add columns after the name): a copy is a "dir" row with a field that is a UTC time,
# with or without a "/" after it.
copies() {
  awk '$1 == "dir" { for (i = 2; i <= NF; i++) if ($i ~ /^20[0-9]+T[0-9]+Z\/?$/) { sub(/\/$/, "", $i); print $i } }' | sort
}
files=$(mktemp)
# A volume's root may hold lost+found, which only root reads: it is the file system's, not data.
find . -path ./lost+found -prune -o -type f -print >"$files"
sort -o "$files" "$files"
if [ ! -s "$files" ]; then
  echo "nothing to copy in $PWD: the copies in $store stay as they are"
  exit 0
fi
# What a run of this backup that failed half-way left is replaced, and what this one leaves if it
# fails is removed: a copy in the store is whole.
listing=$(wal-g st ls)
if printf '%s\n' "$listing" | copies | grep -qx "$stamp"; then
  wal-g st rm "$stamp/"
fi
trap 'wal-g st rm "$stamp/" >/dev/null 2>&1 || true' EXIT
while IFS= read -r f; do
  f=${f#./}
  wal-g st put --no-compress "$f" "$stamp/$f"
done <"$files"
trap - EXIT
echo "copied $PWD to $store/$stamp/ ($(wc -l <"$files") files)"
# Copies more than RETENTION_DAYS days old go, by the time in their names; the newest stays
# whatever its age.
cutoff=$(date -u -d "@$(($(date +%s) - RETENTION_DAYS * 86400))" +%Y%m%dT%H%M%SZ)
listing=$(wal-g st ls)
printf '%s\n' "$listing" | copies | sed '$d' | awk -v cutoff="$cutoff" '$0 < cutoff' >"$files"
while read -r old; do
  wal-g st rm "$old/"
  echo "removed $store/$old/: past the retention of $RETENTION_DAYS days"
done <"$files"
