#!/usr/bin/env bash
# scripts/node-images.sh build | import SOCKET : the real node's images, built here and never
# pulled (no registry is reachable, and none is needed).
#
#   debian  one Debian root filesystem (mmdebstrap, from the host's Debian sources) holding every
#           server the platform runs that Debian packages: PostgreSQL 15 with Patroni, PgBouncer,
#           Redis and Sentinel, nginx and the exporters
#   prometheus  Prometheus built from its module (scripts/tools.sh node): Debian's has no
#           Kubernetes service discovery
#   spilo   the postgres image's entrypoint (node-images/spilo-launch.py)
#   pause   the pod sandbox: Kubernetes' own pause.c (from the kubernetes module), static
#   app     cmd/pynomaly-ref, the reference application (the API, worker and migration images)
#   kubectl the toolchain's kubectl, over the debian layer for its shell (a rotation's
#           retirement jobs wait with it)
#
# scripts/node-images/images.json gives each image its reference, layers and process
# configuration; cmd/ociarchive writes them as one OCI archive, which `import` loads into the
# node's containerd. Each layer is rebuilt only when its inputs change (a stamp beside it), so a
# warm run takes seconds; everything is cached outside the clone, like the toolchain.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/env.sh"
OUT=${PYNOMALY_NODE_IMAGES:-$PYNOMALY_TOOLS/../node-images}/build
SPEC=$HERE/node-images/images.json
mkdir -p "$OUT"
# One run at a time (a second waits, then finds the first one's layers fresh).
exec 9>"$OUT/.lock"
flock 9
log() { printf '[images %s] %s\n' "$(date +%T)" "$*" >&2; }
fresh() { [ -f "$OUT/$1" ] && [ "$(cat "$OUT/$1.stamp" 2>/dev/null)" = "$2" ]; }

# The packages of the debian layer. python3-yaml and python3-psycopg2 come with Patroni.
PACKAGES=(postgresql-15 postgresql-client-15 patroni pgbouncer redis-server redis-sentinel nginx-light
  prometheus-postgres-exporter prometheus-redis-exporter prometheus-nginx-exporter
  ca-certificates openssl curl netcat-openbsd procps)

build_debian() {
  local stamp
  stamp="$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-16) $(sha256sum "$HERE/node-images/customize.sh" | cut -c1-16)"
  fresh debian.tar "$stamp" && return
  log "building the debian layer (mmdebstrap bookworm: ${#PACKAGES[@]} packages)"
  ensure_packages mmdebstrap:mmdebstrap
  local t0=$SECONDS
  # The mirrors are the host's own Debian sources (one line per source on stdin).
  apt-get indextargets >/dev/null 2>&1 || true
  local sources
  sources=$(grep -hE '^(URIs|Suites|Components):' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
    /^URIs:/ {u=$2} /^Suites:/ {s=""; for (i=2;i<=NF;i++) s=s" "$i} /^Components:/ {c=""; for (i=2;i<=NF;i++) c=c" "$i; n=split(s,a," "); for (i=1;i<=n;i++) print "deb " u " " a[i] c}')
  [ -n "$sources" ] || sources=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null)
  echo "$sources" | mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --dpkgopt='path-exclude=/usr/share/{doc,man,locale,info}/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook="chroot \"\$1\" sh -s <'$HERE/node-images/customize.sh'" \
    bookworm "$OUT/debian.partial.tar" -
  mv "$OUT/debian.partial.tar" "$OUT/debian.tar"
  echo "$stamp" >"$OUT/debian.tar.stamp"
  log "  debian layer: $(du -m "$OUT/debian.tar" | cut -f1) MB in $((SECONDS - t0))s"
}

# pack NAME DIR: DIR as the layer NAME.tar, owned by root with fixed times, so the same files
# make the same layer; an unchanged layer keeps its file. DIR is removed.
pack() {
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name -C "$2" -cf "$OUT/$1.tar.new" .
  rm -rf "$2"
  if cmp -s "$OUT/$1.tar.new" "$OUT/$1.tar"; then rm "$OUT/$1.tar.new"; else mv "$OUT/$1.tar.new" "$OUT/$1.tar"; fi
}

build_pause() {
  # The kubernetes module the toolchain builds the node from (its pin is in tools.sh).
  local version src
  version=$(sed -n 's/^K8S_VERSION=\([^ ]*\).*/\1/p' "$HERE/tools.sh")
  src=$(cd "$OUT" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  local stamp; stamp=$(sha256sum "$src/build/pause/linux/pause.c" | cut -c1-16)
  fresh pause.tar "$stamp" && return
  log "building the pause layer"
  local d; d=$(mktemp -d)
  gcc -Os -static -DVERSION=v3.10-pynomaly -o "$d/pause" "$src/build/pause/linux/pause.c"
  strip "$d/pause"
  pack pause "$d"
  echo "$stamp" >"$OUT/pause.tar.stamp"
}

build_app() {
  log "building the app layer (cmd/pynomaly-ref)"
  local d; d=$(mktemp -d)
  mkdir -p "$d/usr/local/bin" "$d/etc"
  (cd "$REPO" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$d/usr/local/bin/pynomaly-ref" ./cmd/pynomaly-ref)
  # The migration Job runs `alembic upgrade head`, as the Pynomaly image's Alembic is called.
  ln -s pynomaly-ref "$d/usr/local/bin/alembic"
  printf 'root:x:0:0:root:/root:/sbin/nologin\npynomaly:x:10001:10001:pynomaly:/nonexistent:/sbin/nologin\n' >"$d/etc/passwd"
  printf 'root:x:0:\npynomaly:x:10001:\n' >"$d/etc/group"
  pack app "$d"
}

# The spilo layer: the postgres image's entrypoint, on top of the debian layer.
build_spilo() {
  local d; d=$(mktemp -d)
  install -D -m 0755 "$HERE/node-images/spilo-launch.py" "$d/usr/local/bin/spilo-launch"
  pack spilo "$d"
}

# The prometheus layer: the binary where the upstream image has it, and its data directory.
build_prometheus() {
  local d; d=$(mktemp -d)
  mkdir -p "$d/bin" "$d/prometheus"
  cp "$PYNOMALY_TOOLS/bin/prometheus" "$d/bin/prometheus"
  pack prometheus "$d"
}

# The kubectl layer: the control plane's kubectl (scripts/tools.sh), static.
build_kubectl() {
  local d; d=$(mktemp -d)
  install -D -m 0755 "$PYNOMALY_TOOLS/bin/kubectl" "$d/usr/local/bin/kubectl"
  pack kubectl "$d"
}

build() {
  local t0=$SECONDS layers=(debian pause app spilo prometheus kubectl) args=() l
  for l in "${layers[@]}"; do "build_$l"; args+=(-layer "$l=$OUT/$l.tar"); done
  (cd "$REPO" && go run ./cmd/ociarchive -spec "$SPEC" "${args[@]}" -o "$OUT/images.tar")
  log "images ready in $((SECONDS - t0))s: $(du -m "$OUT/images.tar" | cut -f1) MB"
}

# import SOCKET: load the archive into the node's containerd unless it holds this very archive.
import() {
  local sock=$1 sum
  build
  sum=$(sha256sum "$OUT/images.tar" | cut -c1-64)
  if [ "$(cat "$OUT/imported" 2>/dev/null)" = "$sum $sock" ] && ctr --address "$sock" -n k8s.io images check >/dev/null 2>&1; then
    log "node images up to date"; return
  fi
  local t0=$SECONDS
  ctr --address "$sock" -n k8s.io images import --no-unpack=false "$OUT/images.tar" >/dev/null
  echo "$sum $sock" >"$OUT/imported"
  log "imported $(ctr --address "$sock" -n k8s.io images list -q | grep -c pynomaly.local) images in $((SECONDS - t0))s"
}

case ${1:-} in
  build) build ;;
  import) import "${2:?usage: node-images.sh import SOCKET}" ;;
  *) echo "usage: scripts/node-images.sh build | import SOCKET" >&2; exit 2 ;;
esac
