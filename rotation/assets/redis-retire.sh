# shellcheck shell=sh
for target in $REDIS_TARGETS; do
  host=${target%%|*}
  master=${target#*|}
  # shellcheck disable=SC2086 # REDIS_CLI_TLS is options or nothing
  out=$(printf 'CONFIG SET masterauth %s\nACL SETUSER default resetpass >%s\n' "$REDISCLI_AUTH" "$REDISCLI_AUTH" | redis-cli $REDIS_CLI_TLS -h "$host" -p 6379)
  [ "$out" = "$(printf 'OK\nOK')" ] || { echo "$host: $out"; exit 1; }
  if [ -n "$master" ]; then
    # shellcheck disable=SC2086
    out=$(printf 'SENTINEL SET %s auth-pass %s\nSENTINEL CONFIG SET sentinel-pass %s\nACL SETUSER default resetpass >%s\n' "$master" "$REDISCLI_AUTH" "$REDISCLI_AUTH" "$REDISCLI_AUTH" | redis-cli $REDIS_CLI_TLS -h "$host" -p 26379)
    [ "$out" = "$(printf 'OK\nOK\nOK')" ] || { echo "$host sentinel: $out"; exit 1; }
  fi
  echo "$host settled"
done
