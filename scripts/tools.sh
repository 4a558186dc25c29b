#!/usr/bin/env bash
# scripts/tools.sh [pulumi|cluster|node|lint|all] : build the real-engine toolchain (and the checkers
# of the unit stage) from Go modules alone.
#
# Everything lands in $PYNOMALY_TOOLS (default ~/.cache/pynomaly-platform/tools), outside the
# clone, so a fresh CI clone on the same machine reuses it. A binary is rebuilt only when it is
# missing or its stamp (the pinned inputs that produced it) changed, so a warm run takes a second.
#
#   pulumi                       CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-go           Go language host: the newest sdk/v3 that still carried it as a
#                                package (its own module is not on the proxy)
#   pulumi-resource-kubernetes   github.com/pulumi/pulumi-kubernetes/provider/v4 (a pseudo-version
#                                that is exactly tag v4.25.0, the only one the proxy serves)
#   pulumi-resource-random       the Terraform random provider bridged with pulumi-terraform-bridge
#                                (pulumi-random's own provider module is not on the proxy)
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
#                                for scripts/cluster.sh and the end-to-end suite
#   kubelet, kube-proxy, coredns, kube-network-policies the real node (node; not in all):
#                                scripts/cluster.sh up --real-node
#   prometheus                   for the real node's Prometheus image (scripts/node-images.sh)
#   external-secrets             the External Secrets Operator's controller (its ExternalSecret and
#                                store reconcilers, the fake provider alone) for the end-to-end
#                                suite's credentials from a secret manager (cluster)
#   otelcol, victoria-logs       the log collector (the OpenTelemetry Collector's components the
#                                program's configuration uses, at the contrib image's release) and
#                                the log store: the log pipeline's tests run both (lint and cluster)
#   actionlint                   github.com/rhysd/actionlint (lint: the GitHub workflows)
#   kube-score                   github.com/zegl/kube-score, which the unit suite runs over the
#                                rendered manifests of every environment (seconds to build)
#
# When a `pulumi` is already on PATH (a laptop, a hosted runner) the CLI build is skipped; set
# PYNOMALY_BUILD_PULUMI=1 to build it anyway. Cold builds take 15-25 minutes each on 2 cores.
set -euo pipefail

TOOLS=${PYNOMALY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pynomaly-platform/tools}
BIN=$TOOLS/bin
WORK=$TOOLS/build
STAMPS=$TOOLS/stamps
mkdir -p "$BIN" "$WORK" "$STAMPS"
# One run at a time: two runs building the same tool would delete each other's work directory
# (a cold build died so, with its directory gone under it); a second run waits, then finds the
# first one's binaries fresh.
exec 9>"$TOOLS/.lock"
flock 9
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0

# ---- pins: every one is served by the Go module proxy ---------------------------------------
PULUMI_VERSION=v3.274.1
LANGGO_SDK_VERSION=v3.62.0
K8S_PROVIDER_MODVER=v4.0.0-20260115033456-f47bc2d6f199   # == tag v4.25.0
K8S_PROVIDER_VERSION=4.25.0
K8S_PROVIDER_SDK=v4.29.0        # the provider needs sdk/v4 >= 4.24; 4.24-4.28 are not served
K8S_PROVIDER_PULUMI=v3.229.0    # keeps pkg/v3 == sdk/v3 for that sdk/v4
RANDOM_TF_MODVER=v1.3.2-0.20250225172818-f6ac5f9adf99    # pulumi-random v4.18.0's pin
RANDOM_TF_SUM='h1:g/PHMj2u8+fzDwYl+zsoB8Dq27wiJTrC/ioKMYvaImU='
RANDOM_TF_MODSUM='h1:6Xt53SRFfi/1GSIKZUHTrvftCx0rgSzD6+kuvr1nPzU='
RANDOM_BRIDGE_VERSION=v3.120.0
RANDOM_TFSDK_FORK=v2.0.0-20250923233607-7f1981c8674a
RANDOM_VERSION=4.18.0           # matches github.com/pulumi/pulumi-random/sdk/v4 in go.mod
K8S_VERSION=v1.35.4
KWOK_VERSION=v0.8.0
ETCD_VERSION=v3.6.16
ACTIONLINT_VERSION=v1.7.12
KUBE_SCORE_VERSION=v1.20.0      # the only version the proxy serves
COREDNS_VERSION=v1.14.7         # cluster DNS of the real node (not packaged by Debian)
KNP_VERSION=v0.8.0              # kube-network-policies: the real node's NetworkPolicy enforcer
PROMETHEUS_VERSION=3.2.1
PROMETHEUS_MODVER=v0.302.1      # == Prometheus 3.2.1 (images.prometheus); Debian's is built without
                                # Kubernetes service discovery, which the program's scrape config uses
OTELCOL_VERSION=v0.141.0        # == images.logCollector (otel/opentelemetry-collector-contrib:0.141.0):
                                # the newest release whose stanza, count connector and Prometheus
                                # exporter the proxy all serves; core modules v1.47.0 beside it
OTELCOL_CORE_VERSION=v1.47.0
VICTORIALOGS_VERSION=v1.52.2    # == images.logStore
ESO_VERSION=v0.16.2             # the External Secrets Operator: the newest the proxy serves whole
REV=2                           # bump when a wrapper source below changes

log() { printf '[tools %s] %s\n' "$(date +%T)" "$*" >&2; }
fresh() { [ -x "$BIN/$1" ] && [ "$(cat "$STAMPS/$1" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$STAMPS/$1"; }
timed() { local t0=$SECONDS; "$@"; log "  took $((SECONDS - t0))s"; }

gov=$(go env GOVERSION); gov=${gov#go}
if [ "$(printf '%s\n' 1.26.6 "$gov" | sort -V | head -1)" != 1.26.6 ]; then
  echo "tools.sh: Go >= 1.26.6 is needed (pulumi pkg/v3 $PULUMI_VERSION), found $gov" >&2; exit 1
fi

build_pulumi() {
  local s="rev=$REV pulumi=$PULUMI_VERSION"
  fresh pulumi "$s" && return
  log "building pulumi $PULUMI_VERSION"
  local d=$WORK/pulumi; rm -rf "$d"; mkdir -p "$d"
  # replace directives of a dependency are ignored, so pkg/v3's clipboard fork is repeated here
  printf 'module local/pulumi\n\ngo 1.26.6\n\nreplace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e\n' >"$d/go.mod"
  (cd "$d" && go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" &&
    timed go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  stamp pulumi "$s"
}

# The v3.62 host reads the project's runtime options (binary, buildTarget) as command-line flags;
# today's CLI sends them over gRPC instead, which that host ignores, so without help it compiles
# and links the program on every pulumi command (about 6 s here), binary or not. The
# pulumi-language-go on PATH is therefore a small launcher that reads the options from the
# project's Pulumi.yaml (the CLI starts language hosts in the project's root) and starts the
# real host, kept in libexec/, with them as flags. The standard CLI's own language host reads
# them over gRPC and needs none of this.
build_language_go() {
  local s="rev=$REV sdk=$LANGGO_SDK_VERSION launcher=1"
  fresh pulumi-language-go "$s" && return
  log "building pulumi-language-go (sdk $LANGGO_SDK_VERSION) and its options launcher"
  local d=$WORK/language-go; rm -rf "$d"; mkdir -p "$d/launcher" "$TOOLS/libexec"
  printf 'module local/languagego\n\ngo 1.26\n' >"$d/go.mod"
  cat >"$d/launcher/main.go" <<'EOF'
// Command pulumi-language-go starts the Go language host of Pulumi SDK v3.62 with the runtime
// options of the project's Pulumi.yaml (binary, buildTarget) as the flags that host reads.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"gopkg.in/yaml.v3"
)

func main() {
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-go:", err)
		os.Exit(1)
	}
	host := filepath.Join(filepath.Dir(self), "..", "libexec", "pulumi-language-go")
	args := append(append([]string{host}, optionFlags()...), os.Args[1:]...)
	err = syscall.Exec(host, args, os.Environ())
	fmt.Fprintln(os.Stderr, "pulumi-language-go:", err)
	os.Exit(1)
}

// optionFlags are -binary and -buildTarget as runtime.options of the Pulumi.yaml in the working
// directory sets them; none when it sets neither (runtime: go), so the host compiles as usual.
func optionFlags() []string {
	var project struct {
		Runtime yaml.Node `yaml:"runtime"`
	}
	for _, name := range []string{"Pulumi.yaml", "Pulumi.yml"} {
		if b, err := os.ReadFile(name); err == nil {
			if err := yaml.Unmarshal(b, &project); err != nil {
				return nil // the CLI reports a malformed project itself
			}
			break
		}
	}
	var runtime struct {
		Options map[string]any `yaml:"options"`
	}
	if project.Runtime.Kind != yaml.MappingNode || project.Runtime.Decode(&runtime) != nil {
		return nil
	}
	var flags []string
	for _, key := range []string{"binary", "buildTarget"} {
		if v, ok := runtime.Options[key].(string); ok && v != "" {
			flags = append(flags, "-"+key+"="+v)
		}
	}
	return flags
}
EOF
  (cd "$d" && go get "github.com/pulumi/pulumi/sdk/v3/go/pulumi-language-go@$LANGGO_SDK_VERSION" gopkg.in/yaml.v3 &&
    timed go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGGO_SDK_VERSION" \
      -o "$TOOLS/libexec/pulumi-language-go" github.com/pulumi/pulumi/sdk/v3/go/pulumi-language-go &&
    go build -trimpath -ldflags "-s -w" -o "$BIN/pulumi-language-go" ./launcher)
  stamp pulumi-language-go "$s"
}

build_kubernetes_provider() {
  local s="rev=$REV provider=$K8S_PROVIDER_MODVER sdk=$K8S_PROVIDER_SDK pulumi=$K8S_PROVIDER_PULUMI"
  fresh pulumi-resource-kubernetes "$s" && return
  log "building pulumi-resource-kubernetes $K8S_PROVIDER_VERSION"
  local d=$WORK/kubernetes-provider m=cmd/pulumi-resource-kubernetes
  rm -rf "$d"; mkdir -p "$d/$m"
  printf 'module local/kubernetesprovider\n\ngo 1.26\n' >"$d/go.mod"
  # Upstream's main embeds files that `go generate` writes in the provider's repository; they are
  # not in the module zip. This main does the same from the schema files that are.
  cat >"$d/$m/main.go" <<'EOF'
package main

import (
	_ "embed"
	"encoding/json"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	var spec map[string]json.RawMessage
	must(json.Unmarshal(schema, &spec))
	spec["version"] = mustMarshal(version.Version)
	var mapping any
	must(json.Unmarshal(terraformMapping, &mapping))
	provider.Serve("kubernetes", version.Version, mustMarshal(spec), mustMarshal(mapping))
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	must(err)
	return b
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
EOF
  (cd "$d" &&
    go get "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider@$K8S_PROVIDER_MODVER" \
      "github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_PROVIDER_SDK" \
      "github.com/pulumi/pulumi/pkg/v3@$K8S_PROVIDER_PULUMI" "github.com/pulumi/pulumi/sdk/v3@$K8S_PROVIDER_PULUMI" &&
    src=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4) &&
    cp "$src/$m/schema.json" "$src/$m/terraform-mapping.json" "$m/" && chmod u+w "$m"/*.json &&
    go mod tidy &&
    timed go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
      -o "$BIN/pulumi-resource-kubernetes" "./$m")
  stamp pulumi-resource-kubernetes "$s"
}

build_random_provider() {
  local s="rev=$REV tf=$RANDOM_TF_MODVER bridge=$RANDOM_BRIDGE_VERSION version=$RANDOM_VERSION"
  fresh pulumi-resource-random "$s" && return
  log "building pulumi-resource-random $RANDOM_VERSION (bridged)"
  local d=$WORK/random-provider
  # The module path sits under terraform-provider-random so Go's internal-package rule lets it
  # import the upstream provider (pulumi-random's own shim module does the same).
  local mod=github.com/terraform-providers/terraform-provider-random/pynomalybridge
  rm -rf "$d"; mkdir -p "$d/info" "$d/cmd/tfgen" "$d/cmd/pulumi-resource-random" "$d/gen"
  printf 'module %s\n\ngo 1.26\n\nreplace github.com/hashicorp/terraform-plugin-sdk/v2 => github.com/pulumi/terraform-plugin-sdk/v2 %s\n' \
    "$mod" "$RANDOM_TFSDK_FORK" >"$d/go.mod"
  # The checksum database has no entry for this pseudo-version; pin the hashes pulumi-random uses.
  printf 'github.com/terraform-providers/terraform-provider-random %s %s\ngithub.com/terraform-providers/terraform-provider-random %s/go.mod %s\n' \
    "$RANDOM_TF_MODVER" "$RANDOM_TF_SUM" "$RANDOM_TF_MODVER" "$RANDOM_TF_MODSUM" >"$d/go.sum"
  cat >"$d/info/info.go" <<'EOF'
// Package info maps the Terraform random provider onto pulumi-random's tokens.
package info

import (
	_ "embed"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

var Version = "0.0.0-dev" // stamped with -ldflags -X

//go:embed bridge-metadata.json
var metadata []byte

func Provider() tfbridge.ProviderInfo {
	p := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(upstream.New()),
		Name:         "random",
		Version:      Version,
		License:      "Apache-2.0",
		Repository:   "https://github.com/pulumi/pulumi-random",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Golang: &tfbridge.GolangInfo{
			ImportBasePath:                 "github.com/pulumi/pulumi-random/sdk/v4/go/random",
			GenerateResourceContainerTypes: true,
			RespectSchemaVersion:           true,
		},
		EnableAccurateBridgePreview: true,
	}
	// random_password -> random:index/randomPassword:RandomPassword, as pulumi-random names them
	p.MustComputeTokens(tokens.SingleModule("random_", "index", func(module, name string) (string, error) {
		return tokens.MakeStandard("random")(module, "Random"+name)
	}))
	p.MustApplyAutoAliases()
	return p
}
EOF
  printf 'package main\n\nimport (\n\t"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"\n\n\t"%s/info"\n)\n\nfunc main() { tfgen.Main("random", info.Provider()) }\n' \
    "$mod" >"$d/cmd/tfgen/main.go"
  cat >"$d/cmd/pulumi-resource-random/main.go" <<EOF
package main

import (
	"context"
	_ "embed"
	"encoding/json"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"$mod/info"
)

//go:embed schema.json
var schema []byte

func main() {
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(schema, &spec); err != nil {
		panic(err)
	}
	spec["version"], _ = json.Marshal(info.Version)
	out, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	pf.Main(context.Background(), "random", info.Provider(), pf.ProviderMetadata{PackageSchema: out})
}
EOF
  echo '{}' >"$d/info/bridge-metadata.json"; echo '{}' >"$d/cmd/pulumi-resource-random/schema.json"
  local ld="-s -w -X $mod/info.Version=$RANDOM_VERSION"
  (cd "$d" &&
    go get "github.com/pulumi/pulumi-terraform-bridge/v3@$RANDOM_BRIDGE_VERSION" \
      "github.com/terraform-providers/terraform-provider-random@$RANDOM_TF_MODVER" &&
    go mod tidy &&
    timed go build -trimpath -ldflags "$ld" -o gen/tfgen ./cmd/tfgen &&
    ./gen/tfgen schema --skip-docs --out gen/schema &&
    cp gen/schema/schema.json cmd/pulumi-resource-random/schema.json &&
    cp gen/schema/bridge-metadata.json info/bridge-metadata.json &&
    timed go build -trimpath -ldflags "$ld" -o "$BIN/pulumi-resource-random" ./cmd/pulumi-resource-random)
  stamp pulumi-resource-random "$s"
}

# build_kubernetes SET COMMAND... : commands of the k8s.io/kubernetes module, built in one
# module directory per set (the control plane, the node) that share one module graph.
build_kubernetes() {
  local set=$1; shift
  local s="rev=$REV k8s=$K8S_VERSION" c missing=()
  for c in "$@"; do fresh "$c" "$s" || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "building ${missing[*]} $K8S_VERSION"
  local d=$WORK/kubernetes-$set-$K8S_VERSION minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local staging="v0.${K8S_VERSION#v1.}"   # k8s.io/* staging modules are published as v0.<minor>.<patch>
  local imports
  imports=$(printf '//go:build tools\n\npackage tools\n\nimport (\n'
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$@"
    echo ")")
  if [ ! -f "$d/go.sum" ] || [ "$(cat "$d/tools.go" 2>/dev/null)" != "$imports" ]; then
    rm -rf "$d"; mkdir -p "$d"
    (cd "$d" && printf 'module local/kubernetes\n\ngo 1.26\n' >go.mod && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >dl.json)
    local upstream; upstream=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$d/dl.json")
    {
      printf 'module local/kubernetes\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
        "$(awk '/^go /{print $2; exit}' "$upstream")" "$K8S_VERSION"
      # k8s.io/kubernetes replaces each staging module with ./staging/...; use the published ones
      grep -E '^[[:space:]]+k8s.io/[^ ]+ => ./staging' "$upstream" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
      printf ')\n'
    } >"$d/go.mod"
    echo "$imports" >"$d/tools.go"
    (cd "$d" && go mod tidy)
  fi
  local ld="-s -w" p pkgs=()
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  # one invocation: they share one module graph and most packages
  (cd "$d" && timed go build -trimpath -ldflags "$ld" -o "$BIN/" "${pkgs[@]}")
  for c in "${missing[@]}"; do stamp "$c" "$s"; done
}

build_module_binary() { # name module version package ldflags
  local name=$1 module=$2 version=$3 pkg=$4 ld=$5 s="rev=$REV $2@$3"
  fresh "$name" "$s" && return
  log "building $name $version"
  local d=$WORK/$name-$version; rm -rf "$d"; mkdir -p "$d"
  printf 'module local/%s\n\ngo 1.26\n\nrequire %s %s\n' "$name" "$module" "$version" >"$d/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$d/tools.go"
  (cd "$d" && go mod tidy && timed go build -trimpath -ldflags "-s -w $ld" -o "$BIN/$name" "$pkg")
  stamp "$name" "$s"
}

# build_otelcol builds a collector of exactly the components the generated configuration names
# (logging.Collector.Config), the way the OpenTelemetry Collector Builder would.
build_otelcol() {
  local s="rev=$REV otelcol=$OTELCOL_VERSION core=$OTELCOL_CORE_VERSION"
  fresh otelcol "$s" && return
  log "building otelcol $OTELCOL_VERSION"
  local d=$WORK/otelcol-$OTELCOL_VERSION c=github.com/open-telemetry/opentelemetry-collector-contrib k=go.opentelemetry.io/collector
  rm -rf "$d"; mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command otelcol is the log collector of the platform's tests: the components its configuration uses.
package main

import (
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/countconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/deltatocumulativeprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/k8sattributesprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

func components() (otelcol.Factories, error) {
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](filelogreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](k8sattributesprocessor.NewFactory(),
		batchprocessor.NewFactory(), memorylimiterprocessor.NewFactory(), transformprocessor.NewFactory(),
		deltatocumulativeprocessor.NewFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](otlphttpexporter.NewFactory(), prometheusexporter.NewFactory()); err != nil {
		return f, err
	}
	if f.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](countconnector.NewFactory()); err != nil {
		return f, err
	}
	f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](healthcheckextension.NewFactory(), filestorage.NewFactory())
	return f, err
}

func main() {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol", Description: "Pynomaly log collector", Version: "VERSION"},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		}},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		log.Fatal(err)
	}
}
GO
  sed -i "s/VERSION/${OTELCOL_VERSION#v}/" "$d/main.go"
  {
    printf 'module local/otelcol\n\ngo 1.26\n\nrequire (\n'
    for m in connector/countconnector exporter/prometheusexporter extension/healthcheckextension \
      extension/storage/filestorage processor/k8sattributesprocessor processor/transformprocessor \
      processor/deltatocumulativeprocessor receiver/filelogreceiver; do
      printf '\t%s/%s %s\n' "$c" "$m" "$OTELCOL_VERSION"
    done
    for m in otelcol exporter/otlphttpexporter processor/batchprocessor processor/memorylimiterprocessor connector; do
      printf '\t%s/%s %s\n' "$k" "$m" "$OTELCOL_VERSION"
    done
    for m in component confmap confmap/provider/envprovider confmap/provider/fileprovider exporter extension processor receiver; do
      printf '\t%s/%s %s\n' "$k" "$m" "$OTELCOL_CORE_VERSION"
    done
    printf ')\n'
  } >"$d/go.mod"
  (cd "$d" && go mod tidy && timed go build -trimpath -ldflags "-s -w" -o "$BIN/otelcol" .)
  stamp otelcol "$s"
}

# build_external_secrets builds the External Secrets Operator's controller from its module: its
# own reconcilers, as its command wires them, with only the fake provider registered (the store
# of the end-to-end suite), which keeps the cloud SDKs of the other providers out.
build_external_secrets() {
  local s="rev=$REV eso=$ESO_VERSION"
  fresh external-secrets "$s" && return
  log "building external-secrets $ESO_VERSION"
  local d=$WORK/external-secrets-$ESO_VERSION
  rm -rf "$d"; mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command external-secrets runs the External Secrets Operator's ExternalSecret and
// (Cluster)SecretStore reconcilers against the cluster of its kubeconfig, with the fake provider.
package main

import (
	"flag"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"

	esv1 "github.com/external-secrets/external-secrets/apis/externalsecrets/v1"
	ctrlcommon "github.com/external-secrets/external-secrets/pkg/controllers/common"
	"github.com/external-secrets/external-secrets/pkg/controllers/externalsecret"
	"github.com/external-secrets/external-secrets/pkg/controllers/externalsecret/esmetrics"
	ctrlmetrics "github.com/external-secrets/external-secrets/pkg/controllers/metrics"
	"github.com/external-secrets/external-secrets/pkg/controllers/secretstore"
	"github.com/external-secrets/external-secrets/pkg/controllers/secretstore/cssmetrics"
	"github.com/external-secrets/external-secrets/pkg/controllers/secretstore/ssmetrics"
	_ "github.com/external-secrets/external-secrets/pkg/provider/fake"
)

func main() {
	storeRequeue := flag.Duration("store-requeue-interval", 5*time.Minute, "how often stores are checked")
	flag.Parse()
	ctrl.SetLogger(zap.New())
	scheme := runtime.NewScheme()
	must(clientgoscheme.AddToScheme(scheme))
	must(esv1.AddToScheme(scheme))
	ctrlmetrics.SetUpLabelNames(false)
	esmetrics.SetUpMetrics()
	ssmetrics.SetUpMetrics()
	cssmetrics.SetUpMetrics()
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{Scheme: scheme, Metrics: server.Options{BindAddress: "0"}})
	must(err)
	opts := controller.Options{MaxConcurrentReconciles: 1, RateLimiter: ctrlcommon.BuildRateLimiter()}
	must((&secretstore.StoreReconciler{Client: mgr.GetClient(), Log: ctrl.Log.WithName("SecretStore"),
		Scheme: scheme, ControllerClass: "default", RequeueInterval: *storeRequeue}).SetupWithManager(mgr, opts))
	must((&secretstore.ClusterStoreReconciler{Client: mgr.GetClient(), Log: ctrl.Log.WithName("ClusterSecretStore"),
		Scheme: scheme, ControllerClass: "default", RequeueInterval: *storeRequeue}).SetupWithManager(mgr, opts))
	must((&externalsecret.Reconciler{Client: mgr.GetClient(), SecretClient: mgr.GetClient(), Log: ctrl.Log.WithName("ExternalSecret"),
		Scheme: scheme, RestConfig: mgr.GetConfig(), ControllerClass: "default", RequeueInterval: time.Hour,
		ClusterSecretStoreEnabled: true, EnableFloodGate: true}).SetupWithManager(mgr, opts))
	must(mgr.Start(ctrl.SetupSignalHandler()))
}

func must(err error) {
	if err != nil {
		ctrl.Log.Error(err, "external-secrets")
		os.Exit(1)
	}
}
GO
  # The operator's own go.mod replaces sprig with its fork; a dependant must say so too.
  printf 'module local/external-secrets\n\ngo 1.26\n\nrequire github.com/external-secrets/external-secrets %s\n\nreplace github.com/Masterminds/sprig/v3 => github.com/external-secrets/sprig/v3 v3.3.0\n' "$ESO_VERSION" >"$d/go.mod"
  (cd "$d" && go mod tidy && timed go build -trimpath -ldflags "-s -w" -o "$BIN/external-secrets" .)
  stamp external-secrets "$s"
}

# build_log_tools builds the log pipeline's two processes.
build_log_tools() {
  build_otelcol
  build_module_binary victoria-logs github.com/VictoriaMetrics/VictoriaLogs "$VICTORIALOGS_VERSION" \
    github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs ""
}

want=${1:-all}
case $want in pulumi|cluster|node|lint|all) ;; *) echo "usage: tools.sh [pulumi|cluster|node|lint|all]" >&2; exit 2 ;; esac
# The checkers of the unit stage (scripts/lint.sh, the kube-score test): seconds to build.
if [ "$want" = lint ] || [ "$want" = all ]; then
  build_module_binary actionlint github.com/rhysd/actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint ""
  build_module_binary kube-score github.com/zegl/kube-score "$KUBE_SCORE_VERSION" github.com/zegl/kube-score/cmd/kube-score "-X main.version=${KUBE_SCORE_VERSION#v}"
  build_log_tools
  if [ "$want" = lint ]; then log "ready: $BIN"; exit 0; fi
fi
if [ "$want" != cluster ] && [ "$want" != node ]; then
  if [ -z "${PYNOMALY_BUILD_PULUMI:-}" ] && [ ! -x "$BIN/pulumi" ] && command -v pulumi >/dev/null; then
    log "using the pulumi on PATH ($(command -v pulumi))"
  else
    build_pulumi
  fi
  build_language_go
  build_random_provider
  build_kubernetes_provider
fi
if [ "$want" != pulumi ] && [ "$want" != node ]; then
  build_module_binary etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 ""
  build_module_binary kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
  build_kubernetes control-plane kube-apiserver kube-controller-manager kube-scheduler kubectl
  build_log_tools
  build_external_secrets
fi
if [ "$want" = node ]; then
  build_kubernetes node kubelet kube-proxy
  build_module_binary coredns github.com/coredns/coredns "$COREDNS_VERSION" github.com/coredns/coredns \
    "-X github.com/coredns/coredns/coremain.GitCommit=${COREDNS_VERSION}"
  build_module_binary prometheus github.com/prometheus/prometheus "$PROMETHEUS_MODVER" github.com/prometheus/prometheus/cmd/prometheus \
    "-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION"
  build_module_binary kube-network-policies sigs.k8s.io/kube-network-policies "$KNP_VERSION" sigs.k8s.io/kube-network-policies/cmd ""
fi
log "ready: $BIN"
