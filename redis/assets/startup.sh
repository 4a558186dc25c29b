# shellcheck shell=sh
me="$POD_NAME.$HEADLESS.$POD_NAMESPACE.svc"
accept=">$REDIS_PASSWORD"
auth="$REDIS_PASSWORD"
if [ -n "$REDIS_PASSWORD_PREVIOUS" ] && [ "$REDIS_SETTLED_GENERATION" != "$REDIS_GENERATION" ]; then
  accept="$accept >$REDIS_PASSWORD_PREVIOUS"
  auth="$REDIS_PASSWORD_PREVIOUS"
fi
primary=""
if [ "$REPLICAS" -gt 1 ]; then
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    peer="$STATEFULSET-$i.$HEADLESS.$POD_NAMESPACE.svc"
    if [ "$peer" != "$me" ]; then
      # shellcheck disable=SC2086 # REDIS_CLI_TLS is options or nothing
      primary=$(REDISCLI_AUTH="$auth" redis-cli $REDIS_CLI_TLS -h "$peer" -p 26379 sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | head -n 1)
      [ -n "$primary" ] && break
    fi
    i=$((i + 1))
  done
  [ -n "$primary" ] || primary="$STATEFULSET-0.$HEADLESS.$POD_NAMESPACE.svc"
fi
{
  echo "include /etc/redis/redis.conf"
  echo "user default on $accept ~* &* +@all"
  echo "masterauth $auth"
  echo "replica-announce-ip $me"
  if [ -n "$primary" ] && [ "$primary" != "$me" ]; then echo "replicaof $primary 6379"; fi
} > /run/redis/redis.conf
if [ "$REPLICAS" -gt 1 ]; then
  {
    cat /etc/redis/sentinel.conf
    echo "sentinel announce-ip $me"
    echo "user default on $accept ~* &* +@all"
    sed "s/PRIMARY_HOST/$primary/" /etc/redis/sentinel-monitor.conf
    echo "sentinel auth-pass $SENTINEL_MASTER $auth"
    # The peers' Sentinels ask for a password too: without sentinel-pass a Sentinel cannot reach
    # them (it falls back to requirepass only, which the ACL user above replaces), marks them
    # down, and no failover ever gets a leader.
    echo "sentinel sentinel-pass $auth"
  } > /run/redis/sentinel.conf
fi
echo "starting as $([ -z "$primary" ] || [ "$primary" = "$me" ] && echo primary || echo "replica of $primary")"
