# shellcheck shell=sh
# Runs inside the debian layer's root filesystem (mmdebstrap's customize hook, sh): the users
# the platform's pods run as, and what the upstream images name differently from Debian.
set -eu

# set_id user|group NAME ID: NAME takes ID, and the files that carried its old ID follow it.
set_id() {
  if [ "$1" = user ]; then
    old=$(id -u "$2"); usermod -u "$3" "$2"; find / -xdev -uid "$old" -exec chown -h "$3" {} +
  else
    old=$(getent group "$2" | cut -d: -f3); groupmod -g "$3" "$2"; find / -xdev -gid "$old" -exec chgrp -h "$3" {} +
  fi
}
# vacate user|group ID: whichever user or group holds ID moves to a free one (900 and up).
vacate() {
  db=passwd; [ "$1" = user ] || db=group
  holder=$(getent "$db" "$2" | cut -d: -f1)
  [ -n "$holder" ] || return 0
  n=900; while getent "$db" "$n" >/dev/null; do n=$((n + 1)); done
  set_id "$1" "$holder" "$n"
}
# renumber NAME UID GID: the Debian user NAME (and its group) take the UID and GID the pods run as.
renumber() {
  [ "$(id -u "$1")" = "$2" ] || { vacate user "$2"; set_id user "$1" "$2"; }
  [ "$(id -g "$1")" = "$3" ] || { vacate group "$3"; set_id group "$1" "$3"; }
}
# add NAME UID: a user for a UID the pods run as that no Debian package creates.
add() { vacate user "$2"; vacate group "$2"; groupadd -g "$2" "$1"; useradd -u "$2" -g "$2" -d /nonexistent -s /usr/sbin/nologin -M "$1"; }

renumber postgres 101 103   # Spilo's
renumber redis 10999 11000
add pgbouncer-pod 10998
add nginx-pod 10101
add pgclient 10070
add pynomaly 10001

# Upstream images' names for what Debian ships under other names.
ln -sf prometheus-nginx-exporter /usr/bin/nginx-prometheus-exporter
ln -sf prometheus-postgres-exporter /usr/bin/postgres_exporter
ln -sf prometheus-redis-exporter /usr/bin/redis_exporter
install -d -o postgres -g postgres -m 0700 /var/lib/spilo

# Patroni 3.0.2 labels its leader pod "master"; Patroni 3.1 and later (Spilo's) write the value
# of kubernetes.leader_label_value, which the program sets to what its Services select. The test
# image brings Debian's Patroni up to that behaviour; the program stays as it is.
k8s=/usr/lib/python3/dist-packages/patroni/dcs/kubernetes.py
grep -q "            role = 'master'$" "$k8s"
sed -i "s/^            role = 'master'$/            role = os.environ.get('PATRONI_KUBERNETES_LEADER_LABEL_VALUE', 'master')/" "$k8s"
grep -q '^import os' "$k8s" || sed -i '1i import os' "$k8s"

rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
