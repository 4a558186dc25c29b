#!/bin/sh
# envdir DIR PROGRAM [ARG...]: daemontools' envdir, which Spilo runs WAL-G through (its
# archive_command is envdir "$WALE_ENV_DIR" wal-g wal-push "%p"): each file in DIR sets the
# variable of its name to its first line, an empty file unsets it, then PROGRAM runs.
set -eu
[ $# -ge 2 ] || { echo "usage: envdir DIR PROGRAM [ARG...]" >&2; exit 111; }
dir=$1
shift
for f in "$dir"/*; do
  [ -f "$f" ] || continue
  name=${f##*/}
  if [ -s "$f" ]; then
    value=$(head -n 1 "$f")
    export "$name=$value"
  else
    unset "$name"
  fi
done
exec "$@"
