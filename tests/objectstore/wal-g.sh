#!/bin/sh
# wal-g: a stand-in for WAL-G's command line, for the drills. WAL-G cannot be built here (the Go
# module proxy refuses github.com/wal-g/wal-g at every version, and Debian packages no wal-g), so
# this does what WAL-G does with the closest real client, rclone (Debian's package, a real S3
# client that signs its requests), against the same store:
#   - the same environment, WAL-G's own names and nothing else: WALG_S3_PREFIX (s3://bucket/path),
#     AWS_ENDPOINT, AWS_REGION, AWS_S3_FORCE_PATH_STYLE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
#     WALG_S3_CA_CERT_FILE; for backup-push, libpq's PG* variables;
#   - the same paths under the prefix: wal_005/<segment>, basebackups_005/base_<start segment>/
#     with its base_<start segment>_backup_stop_sentinel.json beside it (written last: a backup
#     without one is incomplete), and the storage tools' paths relative to the prefix;
#   - the same exit statuses where a caller reads them: wal-fetch of a missing segment exits 74
#     (EX_IOERR), which PostgreSQL's recovery takes as "not archived";
#   - without compression or encryption (WAL-G lz4-compresses by default: a segment there is
#     <segment>.lz4), so objects are stored as they are and named without an extension.
# The base backup is pg_basebackup's tar format (tar_partitions/base.tar), where WAL-G reads
# PGDATA's files itself between pg_backup_start and pg_backup_stop: the same backup, read over
# the replication protocol.
set -eu

usage() {
  cat >&2 <<'EOF'
usage: wal-g wal-push PATH | wal-fetch NAME DEST | backup-push PGDATA | backup-fetch DEST NAME|LATEST
             | backup-list | st put [-f] [--no-compress] LOCAL REMOTE | st ls [-r] [PATH] | st rm PATH
             | st cat PATH
EOF
  exit 64
}

fail() {
  echo "ERROR: $*" >&2
  exit 1
}

# The archive's root as an rclone path on the remote "walg", which is configured from WAL-G's
# variables through the environment (RCLONE_CONFIG_WALG_*): no key is on a command line.
prefix=${WALG_S3_PREFIX:-}
case $prefix in
  s3://?*) ;;
  *) fail "WALG_S3_PREFIX must be s3://bucket/path (the stand-in speaks S3 only), not '$prefix'" ;;
esac
root=walg:${prefix#s3://}
root=${root%/}
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_WALG_TYPE=s3 RCLONE_CONFIG_WALG_NO_CHECK_BUCKET=true
export RCLONE_CONFIG_WALG_REGION="${AWS_REGION:-}" RCLONE_CONFIG_WALG_ENDPOINT="${AWS_ENDPOINT:-}"
# WAL-G addresses buckets by host name unless told otherwise; rclone by path unless told otherwise.
export RCLONE_CONFIG_WALG_FORCE_PATH_STYLE="${AWS_S3_FORCE_PATH_STYLE:-false}"
if [ -n "${AWS_ENDPOINT:-}" ]; then
  export RCLONE_CONFIG_WALG_PROVIDER=Other
else
  export RCLONE_CONFIG_WALG_PROVIDER=AWS
fi
if [ -n "${AWS_ACCESS_KEY_ID:-}" ]; then
  export RCLONE_CONFIG_WALG_ENV_AUTH=false RCLONE_CONFIG_WALG_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
  export RCLONE_CONFIG_WALG_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-}"
else
  # No key: the SDK's own chain (web identity, instance profile), as WAL-G falls back to.
  export RCLONE_CONFIG_WALG_ENV_AUTH=true
fi
if [ -n "${WALG_S3_CA_CERT_FILE:-}" ]; then
  export RCLONE_CA_CERT="$WALG_S3_CA_CERT_FILE"
fi
# WAL-G reads its CA from WALG_S3_CA_CERT_FILE; rclone's SDK would load the machine's
# AWS_CA_BUNDLE instead and cannot with its own transport.
unset AWS_CA_BUNDLE
# Listings in UTC, as WAL-G prints S3's times.
export TZ=UTC

rc() {
  rclone -q --use-server-modtime "$@"
}

tab=$(printf '\t')

# align lays out tab-separated rows as Go's tabwriter does for WAL-G (padding 1, spaces): each
# column but the last as wide as its widest cell plus one.
align() {
  awk -F "$tab" '
    { rows[NR] = $0; for (i = 1; i < NF; i++) if (length($i) > w[i]) w[i] = length($i) }
    END {
      for (r = 1; r <= NR; r++) {
        n = split(rows[r], c, "\t"); line = ""
        for (i = 1; i < n; i++) line = line sprintf("%-" (w[i] + 1) "s", c[i])
        print line c[n]
      }
    }'
}

# is_object says whether PATH (under the root) is an object, not a folder or nothing.
is_object() {
  [ "$(rc lsf --files-only "$root/$1" 2>/dev/null)" = "${1##*/}" ]
}

wal_push() {
  [ $# -eq 1 ] || usage
  rc copyto --ignore-times "$1" "$root/wal_005/${1##*/}"
}

wal_fetch() {
  [ $# -eq 2 ] || usage
  rm -f "$2"
  rc copyto --ignore-times "$root/wal_005/$1" "$2"
  # A missing object is copied as an empty folder would be: nothing, and no error.
  if [ ! -f "$2" ]; then
    echo "ERROR: Archive '$1' does not exist." >&2
    exit 74
  fi
}

# lsn is an LSN (hi/lo in hexadecimal) as the number WAL-G's sentinel holds.
lsn() {
  echo $((0x${1%/*} * 4294967296 + 0x${1#*/}))
}

backup_push() {
  [ $# -eq 1 ] || usage
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  started=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  pg_basebackup -D "$tmp/parts" -F tar -X none --checkpoint=fast 2>"$tmp/log" || fail "pg_basebackup: $(cat "$tmp/log")"
  # The start from backup_label, the end from the manifest, which stays out of the backup.
  mv "$tmp/parts/backup_manifest" "$tmp/manifest"
  label=$(tar -xOf "$tmp/parts/base.tar" backup_label)
  start=$(echo "$label" | sed -n 's/^START WAL LOCATION: \([0-9A-F]*\/[0-9A-F]*\) .*/\1/p')
  segment=$(echo "$label" | sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]*\))$/\1/p')
  finish=$(sed -n 's/.*"End-LSN": *"\([0-9A-F]*\/[0-9A-F]*\)".*/\1/p' "$tmp/manifest")
  if [ -z "$segment" ] || [ -z "$start" ] || [ -z "$finish" ]; then
    fail "no start or end point in the backup's label and manifest"
  fi
  name=base_$segment
  rc copy "$tmp/parts" "$root/basebackups_005/$name/tar_partitions"
  printf '{"LSN":%s,"FinishLSN":%s,"start_time":"%s","finish_time":"%s","hostname":"%s","data_dir":"%s","is_permanent":false}\n' \
    "$(lsn "$start")" "$(lsn "$finish")" "$started" "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$(hostname)" "$1" |
    rc rcat "$root/basebackups_005/${name}_backup_stop_sentinel.json"
  echo "INFO: Wrote backup with name $name" >&2
}

# backups lists the complete backups (those with a sentinel), oldest first: the sentinel's time
# and the backup's name, separated by a tab.
backups() {
  rc lsf --files-only --format tp --separator "$tab" "$root/basebackups_005" |
    sed -n "s/^\(.*\)$tab\(base_[0-9A-F]*\)_backup_stop_sentinel\.json$/\1$tab\2/p" | sort
}

# backup-list prints what Spilo's wale_restore.sh reads: a header, then a backup a line, its
# name, time (RFC 3339) and start segment, oldest first.
backup_list() {
  [ $# -eq 0 ] || usage
  { printf 'name\tmodified\twal_segment_backup_start\n'
    backups | awk -F "$tab" '{ t = $1; sub(" ", "T", t); print $2 "\t" t "Z\t" substr($2, 6) }'
  } | align
}

backup_fetch() {
  [ $# -eq 2 ] || usage
  name=$2
  if [ "$name" = LATEST ]; then
    name=$(backups | tail -n 1 | cut -f 2)
    [ -n "$name" ] || fail "No backups found"
  fi
  if [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then
    fail "Destination directory $1 is not empty"
  fi
  mkdir -p "$1"
  chmod 700 "$1"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  rc copy "$root/basebackups_005/$name/tar_partitions" "$tmp"
  [ -f "$tmp/base.tar" ] || fail "Backup $name has no base.tar"
  for part in "$tmp"/*.tar; do
    tar -xf "$part" -C "$1"
  done
  echo "INFO: Backup extraction complete: $name" >&2
}

# st put refuses an existing object without -f (WAL-G checks REMOTE.lz4, its compressed name,
# even with --no-compress; the stand-in checks the name it writes).
st_put() {
  force=false compress=true
  while [ $# -gt 2 ]; do
    case $1 in
      -f | --force) force=true ;;
      --no-compress) compress=false ;;
      --no-encrypt) ;;
      *) usage ;;
    esac
    shift
  done
  [ $# -eq 2 ] || usage
  $compress && fail "the stand-in does not compress (WAL-G would write $2.lz4): pass --no-compress"
  [ -f "$1" ] || fail "provided local path ($1) is not a file"
  remote=${2#/}
  if ! $force && is_object "$remote"; then
    fail "object $remote already exists. To overwrite it, add the -f flag"
  fi
  rc copyto --ignore-times "$1" "$root/$remote"
}

# st ls prints WAL-G's table (storagetools.WriteObjectsList through a tabwriter):
#   type size last modified                  name
#   dir  0    0001-01-01 00:00:00 +0000 UTC  basebackups_005/
#   obj  1234 2026-11-25 02:00:05 +0000 UTC  globals.sql
# the folders first (type dir, size 0, the zero time, the name with its slash), then the
# objects (obj, bytes, S3's LastModified as Go prints a time, the name relative to PATH); with
# -r, every object below PATH and no folder. S3 lists times to the second here; Go would print
# sub-second digits where the store gives them.
st_ls() {
  recursive=false
  if [ "${1:-}" = -r ] || [ "${1:-}" = --recursive ]; then
    recursive=true
    shift
  fi
  [ $# -le 1 ] || usage
  dir=$root
  [ -z "${1:-}" ] || dir=$root/${1%/}
  { printf 'type\tsize\tlast modified\tname\n'
    if $recursive; then
      rc lsf -R --files-only --format tsp --separator "$tab" "$dir"
    else
      rc lsf --dirs-only "$dir" | sed "s/^/0001-01-01 00:00:00$tab-1$tab/"
      rc lsf --files-only --format tsp --separator "$tab" "$dir"
    fi | awk -F "$tab" '{ print ($2 < 0 ? "dir\t0" : "obj\t" $2) "\t" $1 " +0000 UTC\t" $3 }'
  } | align
}

# st rm removes the object PATH, or every object in the folder PATH.
st_rm() {
  [ $# -eq 1 ] || usage
  path=${1#/}
  path=${path%/}
  if is_object "$path"; then
    rc deletefile "$root/$path"
  elif [ -n "$(rc lsf -R --files-only "$root/$path")" ]; then
    rc purge "$root/$path"
  else
    fail "object or folder \"$1\" does not exist"
  fi
}

st_cat() {
  [ $# -eq 1 ] || usage
  is_object "${1#/}" || fail "object ${1#/} does not exist"
  rc cat "$root/${1#/}"
}

[ $# -ge 1 ] || usage
command=$1
shift
case $command in
  wal-push) wal_push "$@" ;;
  wal-fetch) wal_fetch "$@" ;;
  backup-push) backup_push "$@" ;;
  backup-fetch) backup_fetch "$@" ;;
  backup-list) backup_list "$@" ;;
  st)
    [ $# -ge 1 ] || usage
    tool=$1
    shift
    case $tool in
      put) st_put "$@" ;;
      ls) st_ls "$@" ;;
      rm) st_rm "$@" ;;
      cat) st_cat "$@" ;;
      *) usage ;;
    esac
    ;;
  *) usage ;;
esac
