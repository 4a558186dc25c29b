#!/usr/bin/env bash
# scripts/quickstart.sh [--target local|stack|ambient] [STACK] : the main job. Builds what is
# missing of the toolchain, then previews and deploys a stack (dev by default) with its committed
# settings.
#
# Where it deploys: only where you point it. It prints the target (context and API server)
# before it changes anything.
#   local    (the default) the local control plane of scripts/cluster.sh, started (and built)
#            on demand. A kubeconfig in the stack file, or an ambient one, is not used.
#   stack    the cluster the stack file names (kubernetes.kubeconfig, kubernetes.context).
#   ambient  the ambient kubeconfig's current context ($KUBECONFIG, else ~/.kube/config).
# Choose with --target or PYNOMALY_TARGET. The default passphrase of scripts/env.sh (public) is
# accepted only for the local target on the local backend (.state); anywhere else, set your own
# PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE, or init the stack with a secrets
# provider) first.
#
# PYNOMALY_RENDER=1 renders the manifests to rendered/STACK/ instead, with a stack of its own,
# STACK-render: no cluster is contacted, and nothing a deployed STACK holds is touched (the
# program refuses to move a deployed stack to rendering anyway). Secrets in those files are plain
# text.
#
# The committed stack file is never modified: the run's settings go into a copy of it. What
# `pulumi stack init` writes at the root (a render stack's file, a salt in a committed file) is
# undone when the run ends: a clone's git status stays as it was.
set -euo pipefail
source "$(dirname "$0")/env.sh"

die() { echo "quickstart: $*" >&2; exit 1; }

TARGET=${PYNOMALY_TARGET:-local}
while [ $# -gt 0 ]; do
  case $1 in
    --target) [ $# -ge 2 ] || die "--target needs local, stack or ambient"; TARGET=$2; shift 2 ;;
    --target=*) TARGET=${1#--target=}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
STACK=${1:-dev}
case $TARGET in local | stack | ambient) ;; *) die "unknown target $TARGET: local, stack or ambient" ;; esac
cd "$REPO"
[ -f "Pulumi.$STACK.yaml" ] || die "no stack file Pulumi.$STACK.yaml"

RUN=$STACK
[ -n "${PYNOMALY_RENDER:-}" ] && RUN=$STACK-render

# The public passphrase protects nothing: it may only encrypt state that stays on this machine.
if [ "${PULUMI_CONFIG_PASSPHRASE-}" = "$PYNOMALY_LOCAL_PASSPHRASE" ] &&
  ! grep -Eq '^secretsprovider: *[a-z]+://' "Pulumi.$STACK.yaml"; then
  [ "$PULUMI_BACKEND_URL" = "file://$REPO/.state" ] ||
    die "the default passphrase is public: it encrypts only the local backend's state, not $PULUMI_BACKEND_URL. Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to your own."
  [ -n "${PYNOMALY_RENDER:-}" ] || [ "$TARGET" = local ] ||
    die "the default passphrase is public: it is only for the local cluster, not for --target $TARGET. Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to your own."
fi

bash scripts/tools.sh pulumi
install_plugins

# The run's configuration: a copy of the stack file, with what this run adds.
config=$(mktemp "${TMPDIR:-/tmp}/Pulumi.$RUN.XXXX.yaml")
cp "Pulumi.$STACK.yaml" "$config"
# `pulumi stack init` writes the new stack's encryption salt to Pulumi.RUN.yaml at the root: a
# new file for a render stack, a change to a committed stack file without one. Every command
# below reads the copy instead, so the root's stack file is put back as it was when the run ends,
# and a clone stays as clean as it was.
kept=$(mktemp "${TMPDIR:-/tmp}/Pulumi.$RUN.kept.XXXX")
if [ -f "Pulumi.$RUN.yaml" ]; then cp "Pulumi.$RUN.yaml" "$kept"; else rm -f "$kept"; fi
restore_stack_file() {
  if [ -f "$kept" ]; then
    cmp -s "$kept" "$REPO/Pulumi.$RUN.yaml" || cp "$kept" "$REPO/Pulumi.$RUN.yaml"
    rm -f "$kept"
  else
    rm -f "$REPO/Pulumi.$RUN.yaml"
  fi
}
trap 'rm -f "$config"; restore_stack_file' EXIT
stack_select "$RUN"
cfg() { pulumi "$@" --stack "$RUN" --config-file "$config" >/dev/null; }
setting() { pulumi config get --stack "$RUN" --config-file "$config" --path "$1" 2>/dev/null || true; }
target() { go run ./cmd/kubetarget "$@" || die "cannot tell which cluster that is"; }

if [ -n "${PYNOMALY_RENDER:-}" ]; then
  # The provider takes $KUBECONFIG as its kubeconfig, which it refuses next to rendering.
  unset KUBECONFIG
  cfg config set --path kubernetes.renderYamlToDirectory "rendered/$STACK"
  echo "Rendering $STACK's manifests to rendered/$STACK with the stack $RUN: no cluster is contacted (Secrets in the files are plain text)."
else
  case $TARGET in
    local)
      kubeconfig=$(bash scripts/cluster.sh up)
      cfg config set --path kubernetes.kubeconfig "$kubeconfig"
      cfg config set --path kubernetes.context pynomaly-local
      # The local cluster's nodes run nothing, metrics-server included: its HPAs never scale.
      cfg config set --path 'kubernetes.skipPreflight[0]' metrics-api
      where=$(target --kubeconfig "$kubeconfig" --context pynomaly-local)
      ;;
    stack)
      kubeconfig=$(setting kubernetes.kubeconfig)
      [ -n "$kubeconfig" ] || die "Pulumi.$STACK.yaml names no cluster: pulumi config set --path kubernetes.kubeconfig PATH"
      where=$(target --kubeconfig "$kubeconfig" --context "$(setting kubernetes.context)")
      ;;
    ambient)
      cfg config rm --path kubernetes.kubeconfig 2>/dev/null || true
      cfg config rm --path kubernetes.context 2>/dev/null || true
      where=$(target)
      ;;
  esac
  echo "Deploying $STACK to $where (--target $TARGET)."
fi
pulumi preview --stack "$RUN" --config-file "$config"
pulumi up --yes --skip-preview --stack "$RUN" --config-file "$config"
pulumi stack output --stack "$RUN"
