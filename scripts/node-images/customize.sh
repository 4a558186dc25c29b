# shellcheck shell=sh
# Runs inside the debian layer's root filesystem (mmdebstrap's customize hook, sh): the users
# the platform's pods run as, and what the upstream images name differently from Debian.
set -eu

# give_id UID: move whichever user holds UID to a free one, files included.
give_id() {
  holder=$(getent passwd "$1" | cut -d: -f1)
  [ -n "$holder" ] || return 0
  n=900; while getent passwd "$n" >/dev/null; do n=$((n + 1)); done
  usermod -u "$n" "$holder"
  find / -xdev -uid "$1" -exec chown -h "$n" {} +
}
give_gid() {
  holder=$(getent group "$1" | cut -d: -f1)
  [ -n "$holder" ] || return 0
  n=900; while getent group "$n" >/dev/null; do n=$((n + 1)); done
  groupmod -g "$n" "$holder"
  find / -xdev -gid "$1" -exec chgrp -h "$n" {} +
}
# renumber NAME UID GID: the Debian user NAME takes the UID and GID the pods run as.
renumber() {
  old_uid=$(id -u "$1"); old_gid=$(id -g "$1")
  [ "$old_uid" = "$2" ] || { give_id "$2"; usermod -u "$2" "$1"; find / -xdev -uid "$old_uid" -exec chown -h "$2" {} +; }
  [ "$old_gid" = "$3" ] || { give_gid "$3"; groupmod -g "$3" "$1"; find / -xdev -gid "$old_gid" -exec chgrp -h "$3" {} +; }
}
# add NAME UID: a user for a UID the pods run as that no Debian package creates.
add() { give_id "$2"; give_gid "$2"; groupadd -g "$2" "$1"; useradd -u "$2" -g "$2" -d /nonexistent -s /usr/sbin/nologin -M "$1"; }

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
