# shellcheck shell=sh
# Every command goes to redis-cli on its standard input, written by printf, a builtin, and runs
# as the admin user (REDISCLI_AUTH is its password): no password on a command line, and no answer
# repeats one.
# shellcheck disable=SC2086 # REDIS_CLI_TLS is options or nothing
cli() { # host port: redis-cli at it, the commands from stdin; a number answered reads N
  redis-cli $REDIS_CLI_TLS --user admin -h "$1" -p "$2" | sed 's/^[0-9][0-9]*$/N/'
}
expect() { # host port expected answers: exit unless the answers are exactly the expected
  [ "$4" = "$(printf '%b' "$3")" ] || { echo "$1:$2: $4"; exit 1; }
}

# First every server authenticates replication, and every Sentinel the servers and its peers,
# with their own users. A stack upgraded from a release without them still used default, with
# the application's password; every pod of this release has the users.
for target in $REDIS_TARGETS; do
  host=${target%%|*} master=${target#*|}
  out=$(printf 'CONFIG SET masteruser replication\nCONFIG SET masterauth %s\n' "$REDIS_REPLICATION_PASSWORD" | cli "$host" "$REDIS_PORT")
  expect "$host" "$REDIS_PORT" 'OK\nOK' "$out"
  if [ -n "$master" ]; then
    out=$(printf 'SENTINEL SET %s auth-user sentinel\nSENTINEL SET %s auth-pass %s\nSENTINEL CONFIG SET sentinel-user sentinel\nSENTINEL CONFIG SET sentinel-pass %s\n' \
      "$master" "$master" "$REDIS_SENTINEL_PASSWORD" "$REDIS_SENTINEL_PASSWORD" | cli "$host" "$SENTINEL_PORT")
    expect "$host" "$SENTINEL_PORT" 'OK\nOK\nOK\nOK' "$out"
  fi
done
# Then the application's user keeps only the current password (resetpass: the previous one goes,
# whatever it was, so a rerun does the same), default may only PING, and the connections that
# ran a command as default are closed: they log in again as their users. A connection that has
# sent nothing yet (cmd=NULL) is default too until its AUTH, so it stays: closing it would fail a
# client of this release that is logging in.
for target in $REDIS_TARGETS; do
  host=${target%%|*} master=${target#*|}
  for port in "$REDIS_PORT" ${master:+"$SENTINEL_PORT"}; do
    out=$(printf 'ACL SETUSER pynomaly resetpass >%s\nACL SETUSER default reset on nopass +ping\n' "$REDIS_PASSWORD" | cli "$host" "$port")
    expect "$host" "$port" 'OK\nOK' "$out"
    clients=$(echo 'CLIENT LIST' | cli "$host" "$port")
    case $clients in id=*) ;; *) echo "$host:$port: $clients"; exit 1 ;; esac # this one is listed
    ids=$(printf '%s\n' "$clients" | awk '/ user=default / && !/ cmd=NULL / { sub(/^id=/, "", $1); print $1 }')
    [ -z "$ids" ] && continue
    # shellcheck disable=SC2086 # one KILL per id; USER default again, in case it logged in since
    out=$(printf 'CLIENT KILL ID %s USER default\n' $ids | cli "$host" "$port" | sed '/^N$/d')
    expect "$host" "$port" '' "$out"
  done
  echo "$host settled"
done
