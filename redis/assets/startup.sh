# shellcheck shell=sh
me="$POD_NAME.$HEADLESS.$POD_NAMESPACE.svc"
app=">$REDIS_PASSWORD"
auth="$REDIS_PASSWORD"
if [ -n "$REDIS_PASSWORD_PREVIOUS" ] && [ "$REDIS_SETTLED_GENERATION" != "$REDIS_GENERATION" ]; then
  app="$app >$REDIS_PASSWORD_PREVIOUS"
  auth="$REDIS_PASSWORD_PREVIOUS"
fi
# The upgrade window: a stack deployed before the per-client users settled (the settled Secret
# has a generation but no users) still runs pods whose one user is default, with the
# application's password, for every client: replicas, Sentinels and the application's pods
# of the previous template. Until the retirement job moves every running server to the users,
# this pod keeps that user and authenticates as it; the users are there as well.
legacy=""
if [ -n "$REDIS_SETTLED_GENERATION" ] && [ "$REDIS_SETTLED_USERS" != "$REDIS_USERS_VERSION" ]; then legacy=1; fi

password() { # pw: the ACL password of user $1
  case $1 in
    default) if [ -n "$legacy" ]; then pw="$app"; else pw=nopass; fi ;;
    pynomaly) pw="$app" ;;
    replication) pw=">$REDIS_REPLICATION_PASSWORD" ;;
    sentinel) pw=">$REDIS_SENTINEL_PASSWORD" ;;
    exporter) pw=">$REDIS_EXPORTER_PASSWORD" ;;
    admin) pw=">$REDIS_ADMIN_PASSWORD" ;;
    *) echo "unknown Redis user $1" >&2; exit 1 ;;
  esac
}
users() { # the user lines of users file $1, into file $2
  : >"$2"
  while read -r name rules; do
    if [ "$name" = default ] && [ -n "$legacy" ]; then rules="~* &* +@all"; fi
    password "$name"
    echo "user $name on $pw $rules" >>"$2"
  done <"$1"
}

# shellcheck disable=SC2086 # REDIS_CLI_TLS is options or nothing
ask() { # the primary as the Sentinel of peer $1 names it
  if [ -n "$legacy" ]; then
    REDISCLI_AUTH="$auth" redis-cli $REDIS_CLI_TLS -h "$1" -p 26379 sentinel get-master-addr-by-name "$SENTINEL_MASTER"
  else
    REDISCLI_AUTH="$REDIS_SENTINEL_PASSWORD" redis-cli $REDIS_CLI_TLS --user sentinel -h "$1" -p 26379 sentinel get-master-addr-by-name "$SENTINEL_MASTER"
  fi
}
primary=""
if [ "$REPLICAS" -gt 1 ]; then
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    peer="$STATEFULSET-$i.$HEADLESS.$POD_NAMESPACE.svc"
    if [ "$peer" != "$me" ]; then
      primary=$(ask "$peer" 2>/dev/null | head -n 1)
      [ -n "$primary" ] && break
    fi
    i=$((i + 1))
  done
  [ -n "$primary" ] || primary="$STATEFULSET-0.$HEADLESS.$POD_NAMESPACE.svc"
fi
users /etc/redis/users.conf /run/redis/users
{
  echo "include /etc/redis/redis.conf"
  cat /run/redis/users
  if [ -n "$legacy" ]; then
    echo "masterauth $auth"
  else
    echo "masteruser replication"
    echo "masterauth $REDIS_REPLICATION_PASSWORD"
  fi
  echo "replica-announce-ip $me"
  if [ -n "$primary" ] && [ "$primary" != "$me" ]; then echo "replicaof $primary 6379"; fi
} >/run/redis/redis.conf
if [ "$REPLICAS" -gt 1 ]; then
  users /etc/redis/sentinel-users.conf /run/redis/sentinel-users
  {
    cat /etc/redis/sentinel.conf
    echo "sentinel announce-ip $me"
    cat /run/redis/sentinel-users
    sed "s/PRIMARY_HOST/$primary/" /etc/redis/sentinel-monitor.conf
    # The peers' Sentinels ask for a password too: without sentinel-user and sentinel-pass a
    # Sentinel cannot reach them, marks them down, and no failover ever gets a leader.
    if [ -n "$legacy" ]; then
      echo "sentinel auth-pass $SENTINEL_MASTER $auth"
      echo "sentinel sentinel-pass $auth"
    else
      echo "sentinel auth-user $SENTINEL_MASTER sentinel"
      echo "sentinel auth-pass $SENTINEL_MASTER $REDIS_SENTINEL_PASSWORD"
      echo "sentinel sentinel-user sentinel"
      echo "sentinel sentinel-pass $REDIS_SENTINEL_PASSWORD"
    fi
  } >/run/redis/sentinel.conf
fi
rm -f /run/redis/users /run/redis/sentinel-users
echo "starting as $([ -z "$primary" ] || [ "$primary" = "$me" ] && echo primary || echo "replica of $primary")${legacy:+, in the upgrade window: default keeps every command until the users settle}"
