#!/usr/bin/env bash
# scripts/bench-edge.sh [STACK] : one edge pod at its share of the concurrent requests the stack
# promises (edge.concurrentRequests / edge.replicas, rounded up: 3,334 of prod's 10,000), measured
# with Debian's nginx on loopback, in about a minute:
#
#   configuration  the stack's generated nginx.conf (cmd/benchedge conf: edge.NginxConf of the
#                  stack's settings, as the pod gets it), on free loopback ports, its files in a
#                  temporary folder; every limit is the stack's
#   nginx          run as an unprivileged user, as in the pod, with this shell's open-file limit
#                  raised so that the workers get the worker_rlimit_nofile the file asks for
#   load           cmd/benchedge run: a stand-in API that holds each request 1 to 2 s, and the
#                  pod's share plus 5% of clients, each from an address of its own in 127.0.0.0/8
#                  (one client to limit_req), one connection each, within the per-client budget;
#                  and one abusive address sending 20 requests a second, far past it
#
# It prints completed requests, errors by kind, latency (whole, and what the edge added to the
# stand-in's hold), the peak of requests in flight and of nginx's active connections, nginx's
# resident memory (master and workers, sampled), and the abusive client's 429s; and exits 1 if
# the share was not in flight at once, a client within its budget saw an error, or the abusive
# client was not refused. BENCH_EDGE_ARGS passes flags to `benchedge run` (-duration, -clients,
# -hold, -abuse, -ramp). Run as root (it drops to an unprivileged user for nginx).
set -euo pipefail
source "$(dirname "$0")/env.sh"
STACK=${1:-prod}
cd "$REPO"
ensure_packages /usr/sbin/nginx:nginx-light
[ "$(id -u)" -eq 0 ] || { echo "bench-edge.sh: run as root (nginx runs as nobody, the limits are raised)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-edge.XXXX")
chmod 755 "$work"
nginx_pid=
# nginx gets SIGTERM: its master stops the workers, then exits.
trap '[ -z "$nginx_pid" ] || { kill -TERM "$nginx_pid"; wait "$nginx_pid"; } 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/benchedge" ./cmd/benchedge
site=$work/nginx
"$work/benchedge" conf -stack "$STACK" "$site"

# Open files: each nginx worker sets its own limit to worker_rlimit_nofile, which an unprivileged
# process can do only under the hard limit it inherits; the load generator holds two descriptors
# per client (its connection to nginx, and the stand-in API's end of nginx's connection to it).
# Both get the whole hard limit (the load generator's Go runtime takes it by itself).
files=$(awk '$1 == "worker_rlimit_nofile" {print $2 + 0}' "$site/nginx.conf")
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$files" ]; then
  ulimit -Hn "$files" 2>/dev/null ||
    { echo "bench-edge.sh: open files: the hard limit is $(ulimit -Hn), nginx.conf's worker_rlimit_nofile $files" >&2; exit 1; }
fi
ulimit -Sn "$(ulimit -Hn)"

# nginx as the pod runs it: in the foreground (daemon off), unprivileged, logging to stdout and
# stderr, which it reopens by path (/dev/stdout), so they are a file the user owns.
log=$site/nginx.log
: >"$log"
chown -R nobody:nogroup "$site"
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/sbin/nginx -e stderr -c "$site/nginx.conf" >"$log" 2>&1 &
nginx_pid=$!

echo "== $(/usr/sbin/nginx -v 2>&1 | sed 's|.*: ||'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
# shellcheck disable=SC2086 # BENCH_EDGE_ARGS is a list of flags
"$work/benchedge" run -stack "$STACK" ${BENCH_EDGE_ARGS:-} "$site" || status=$?
# What nginx itself complained of: "worker_connections are not enough", setrlimit, accept().
complaints=$(grep -E '\[(alert|crit|emerg|error)\]' "$log" || true)
if [ -n "$complaints" ]; then
  echo "nginx complained ($(wc -l <<<"$complaints") lines), the first ones:" >&2
  head -5 <<<"$complaints" >&2
  status=1
fi
exit "$status"
