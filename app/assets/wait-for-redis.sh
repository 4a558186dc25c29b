# shellcheck shell=sh
tls=""
[ "$REDIS_TLS" = true ] && tls="--tls --cacert $REDIS_CA_CERT"
for target in "$REDIS_QUEUE_HOST:$REDIS_QUEUE_PORT" "$REDIS_CACHE_HOST:$REDIS_CACHE_PORT"; do
  # As the application's user: its password (REDISCLI_AUTH) is checked, not only the server.
  # shellcheck disable=SC2086 # $tls is two options or none
  until redis-cli $tls --user "$REDIS_USERNAME" -h "${target%:*}" -p "${target##*:}" ping 2>/dev/null | grep -q PONG; do echo "waiting for $target"; sleep 2; done
done
