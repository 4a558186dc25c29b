package platform

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// tierPlan is one tier's plan, by the tier's name in the list of tiers.
type tierPlan struct {
	tier string
	plan tier.Plan
}

// Plan is the whole stack's plan, every tier's objects from the settings alone, and checks the
// settings against it (load.ValidatePlan): the quota must hold every workload at its largest, and
// each node selector must name a component the stack runs. Nothing is declared.
func Plan(s *config.Settings) (tier.Plan, error) {
	p := &Platform{settings: s}
	err := p.plan()
	return p.plannedExcept(""), err
}

// NodePlan is the node agents' plan: their namespace's objects, outside the quota Plan checks.
func NodePlan(s *config.Settings) (tier.Plan, error) {
	p := &Platform{settings: s}
	err := p.plan()
	return p.nodePlanned(), err
}

// nodePlanned is the plans of the tiers in the node agents' namespace.
func (p *Platform) nodePlanned() tier.Plan {
	var out tier.Plan
	for _, t := range p.nodePlans {
		out = out.With(t.plan)
	}
	return out
}

// plan computes every tier's plan, in the order of the list of tiers, on a Platform of its own
// whose components stay empty, and checks the settings against the whole.
func (p *Platform) plan() error {
	planner := &Platform{settings: p.settings}
	for _, t := range planner.tiers() {
		pl, err := t.plan()
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if t.nodeNamespace {
			p.nodePlans = append(p.nodePlans, tierPlan{t.name, pl})
			continue
		}
		p.plans = append(p.plans, tierPlan{t.name, pl})
	}
	whole := p.plannedExcept("")
	return load.ValidatePlan(p.settings, whole.Footprints(), append(whole.Components(), p.nodePlanned().Components()...))
}

// plannedExcept is the plans of every tier but the one named (none: "").
func (p *Platform) plannedExcept(name string) tier.Plan {
	var out tier.Plan
	for _, t := range p.plans {
		if t.tier != name {
			out = out.With(t.plan)
		}
	}
	return out
}

// plannedWorkloads are the planned workloads of every tier but the one named (none: "").
func (p *Platform) plannedWorkloads(except string) []kube.Workload {
	return p.plannedExcept(except).Workloads()
}

// NewPlatform plans every tier from validated settings, checks the plan, and builds every tier;
// nothing is declared when the plan is refused.
func NewPlatform(ctx *pulumi.Context, name string, s *config.Settings, opts ...pulumi.ResourceOption) (*Platform, error) {
	p := &Platform{settings: s}
	if err := p.plan(); err != nil {
		return nil, err
	}
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
	// Every pod template of every tier gets its component's placement, priority and account, and
	// the stack's pulling of images, resolved here.
	ctx = kube.WithStackRules(ctx, stackRules(s))
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

// Workloads are every pod-running object the tiers declared so far, in tier order: what the tests
// hold equal to the plan the quota, scrape jobs and NetworkPolicies are generated from.
func (p *Platform) Workloads() []kube.Workload {
	var out []kube.Workload
	for _, c := range p.declared {
		if t, ok := c.(tier.Tier); ok {
			out = append(out, t.Declared()...)
		}
	}
	return out
}

// stackRules are the settings every pod template follows: where its pods run (nodeSelectors,
// tolerations), their priority, their account's cloud identity, and how images are pulled.
func stackRules(s *config.Settings) kube.StackRules {
	return kube.StackRules{
		NodeSelectorOf: s.NodeSelectors.For,
		TolerationsOf: func(component string) []kube.Toleration {
			var out []kube.Toleration
			for _, t := range s.Tolerations.For(component) {
				out = append(out, kube.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect})
			}
			return out
		},
		PriorityClassOf: s.PriorityClassOf,
		AccountOf: func(component string) kube.AccountMeta {
			annotations, labels, podLabels := s.AccountMeta(component)
			return kube.AccountMeta{Annotations: annotations, Labels: labels, PodLabels: podLabels}
		},
		PullSecrets: s.Images.PullSecrets,
		PullPolicy:  s.Images.PullPolicy,
	}
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
	switch {
	case config.IsKubeconfigContents(k.Kubeconfig):
		// The contents carry the cluster's credentials: secret in the state, as in the stack's
		// settings (which refuse them in plain text).
		args.Kubeconfig = pulumi.ToSecret(pulumi.String(k.Kubeconfig)).(pulumi.StringOutput).ToStringPtrOutput()
	case k.Kubeconfig != "":
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
