# shellcheck shell=bash
# Source me: the environment every project script runs the Pulumi CLI in. It keeps the CLI
# offline (no update check, no plugin downloads), its state in the clone, and uses the toolchain
# that scripts/tools.sh built (or a pulumi already on PATH).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYNOMALY_TOOLS=${PYNOMALY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pynomaly-platform/tools}
export PATH=$PYNOMALY_TOOLS/bin:$PATH
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=${GOFLAGS:--buildvcs=false}
export PULUMI_HOME=${PULUMI_HOME:-$REPO/.tools/pulumi-home}
# A local file backend; a team points this at its own backend (s3://, azblob://, app.pulumi.com).
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$REPO/.state}
# The passphrase that encrypts this local backend's secrets. It is public (it is right here), so
# it is only for the local backend and the local cluster: scripts/quickstart.sh refuses it for any
# other. Real stacks use a real secrets provider (pulumi stack init --secrets-provider
# awskms://...) or a team passphrase (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE).
PYNOMALY_LOCAL_PASSPHRASE=pynomaly-local-only
if [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-$PYNOMALY_LOCAL_PASSPHRASE}
fi
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Providers come from PULUMI_HOME (install_plugins), not from whatever is on PATH.
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
mkdir -p "$PULUMI_HOME"
case $PULUMI_BACKEND_URL in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac

# install_plugins: put the locally built providers into PULUMI_HOME, so the CLI uses them without
# searching PATH (and without the warning it prints when it does).
install_plugins() {
  local name version bin
  for spec in kubernetes:4.25.0 random:4.18.0; do
    name=${spec%%:*} version=${spec#*:} bin=$PYNOMALY_TOOLS/bin/pulumi-resource-$name
    [ -x "$bin" ] || continue
    if ! cmp -s "$bin" "$PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name" 2>/dev/null; then
      pulumi plugin install resource "$name" "$version" -f "$bin" --reinstall >/dev/null
    fi
  done
}

# stack_select NAME: select (creating if needed) a stack of the local backend.
stack_select() {
  (cd "$REPO" && { pulumi stack select "$1" 2>/dev/null || pulumi stack init "$1" >/dev/null; })
}

# ensure_packages CHECK:PACKAGE ... : install the Debian packages whose check fails. A check is a
# command name, or a path glob for binaries that are not on PATH.
ensure_packages() {
  local need=() spec check pkg sudo=""
  for spec in "$@"; do
    check=${spec%%:*} pkg=${spec#*:}
    if [[ $check == /* ]]; then compgen -G "$check" >/dev/null && continue; else command -v "$check" >/dev/null && continue; fi
    need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "== installing ${need[*]}"
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  # Only the binaries are wanted: keep the packages' own services from starting.
  echo 'exit 101' | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
}
