package platform

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/netpol"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/rotation"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Platform is the whole Pynomaly deployment: foundation, data, config, app, edge, monitoring and
// security tiers, built in the order of the list in tiers.go, each on the one explicit Kubernetes
// provider. Its type token and its children's names are part of every URN: see the golden test
// before renaming anything here.
type Platform struct {
	pulumi.ResourceState

	Provider   *kubernetes.Provider
	Namespace  *foundation.Namespace
	Access     *foundation.Access
	Storage    *foundation.Storage
	Secrets    *credentials.Secrets
	TLS        *foundation.InternalTLS
	Postgres   *postgres.Postgres
	Redis      *redis.Redis
	InfluxDB   *influxdb.InfluxDB
	AppConfig  *app.AppConfig
	Migration  *app.Migration
	API        *app.API
	Worker     *app.Worker
	Rotation   *rotation.Rotation
	Edge       *edge.Edge
	Monitoring *monitoring.Monitoring
	Security   *netpol.Security

	settings *config.Settings
	// declared are the tiers' components so far, in the order of the list of tiers.
	declared []tier.Component
}

// NewPlatform builds every tier from validated settings.
func NewPlatform(ctx *pulumi.Context, name string, s *config.Settings, opts ...pulumi.ResourceOption) (*Platform, error) {
	p := &Platform{settings: s}
	if err := ctx.RegisterComponentResource("pynomaly:platform:Platform", name, p, opts...); err != nil {
		return nil, err
	}
	if err := p.guardMode(ctx, s.Kubernetes); err != nil {
		return nil, err
	}
	var err error
	if p.Provider, err = newProvider(ctx, p, s.Kubernetes); err != nil {
		return nil, err
	}
	// Every tier gets the provider; children inherit it from their parent component.
	tierOpts := pulumi.Composite(pulumi.Parent(p), pulumi.Providers(p.Provider))
	// Every pod template of every tier gets its component's node selector and the stack's pull
	// policy, resolved here.
	ctx = kube.WithStackRules(ctx, kube.StackRules{NodeSelectorOf: s.NodeSelectors.For, PullPolicy: s.Images.PullPolicy})
	for _, t := range p.tiers() {
		c, err := t.declare(ctx, tierOpts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		p.declared = append(p.declared, c)
	}
	// Only now, with every object on its way to the engine: registering a component's outputs
	// waits for the engine to reach that component (tier.RegisterOutputs).
	if err := tier.RegisterOutputs(ctx, p.Components()...); err != nil {
		return nil, err
	}
	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{
		"namespace":    p.Namespace.Name,
		"storageClass": p.Storage.ClassName,
		"appConfigMap": p.AppConfig.ConfigMapName,
		"secretNames":  p.Secrets.Names(),
	})
}

// Components are the tiers' components, in the order they were declared: RegisterOutputs waits
// for each in turn, and the engine reaches them in that order.
func (p *Platform) Components() []tier.Component {
	return slices.Clone(p.declared)
}

// Workloads are every pod-running object the tiers declared so far, in tier order: what the quota,
// monitoring and network-policy rules are generated from. Monitoring is built from the workloads
// of the tiers before it; security, last, sees monitoring's too.
func (p *Platform) Workloads() []kube.Workload {
	var out []kube.Workload
	for _, c := range p.declared {
		if t, ok := c.(tier.Tier); ok {
			out = append(out, t.Declared()...)
		}
	}
	return out
}

// spread is how the databases' and the pooler's replicas are placed.
func spread(pl config.Placement) kube.Spread {
	if pl == config.PlacementRequired {
		return kube.RequireSpread
	}
	return kube.PreferSpread
}

// KubernetesPluginVersion is the pulumi-resource-kubernetes version the engine loads.
const KubernetesPluginVersion = "4.25.0"

// newProvider is the one Kubernetes provider of the stack: the kubeconfig and context from the
// settings when given, the ambient kubeconfig otherwise, or no cluster at all when manifests are
// rendered to a directory.
func newProvider(ctx *pulumi.Context, parent pulumi.Resource, k config.Kubernetes) (*kubernetes.Provider, error) {
	args := &kubernetes.ProviderArgs{
		// A Secret whose data changes (a rotated credential, a key added by an upgrade) is updated
		// in place, as the API allows. The provider's default replaces it, and a replaced Secret
		// takes every workload that depends on it along (they are replaced with it), which the
		// upgrade test refuses and prod's protection forbids. Its consumers roll through their own
		// templates. ConfigMaps keep the default: they are auto-named and replaced to roll pods.
		EnableSecretMutable: pulumi.BoolPtr(true),
	}
	if k.Kubeconfig != "" {
		args.Kubeconfig = pulumi.StringPtr(k.Kubeconfig)
	}
	if k.Context != "" {
		args.Context = pulumi.StringPtr(k.Context)
	}
	if k.RenderYamlToDirectory != "" {
		args.RenderYamlToDirectory = pulumi.StringPtr(k.RenderYamlToDirectory)
	} else {
		// Without it the provider compares the kubeconfig's cluster entry, and a deployment from
		// another kubeconfig of the same cluster (a CI job's, or one with embedded certificates)
		// would re-create every object. Added to a deployed stack, it replaces nothing.
		args.ClusterIdentifier = pulumi.StringPtr(k.ClusterIdentifierOr(ctx.Stack()))
	}
	prov, err := kubernetes.NewProvider(ctx, "kubernetes", args, pulumi.Parent(parent),
		// The plugin this program is tested with; the SDK in go.mod is the nearest the module
		// proxy serves that is not newer than it.
		pulumi.Version(KubernetesPluginVersion))
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider: %w", err)
	}
	return prov, nil
}
