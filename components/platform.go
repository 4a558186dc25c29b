package components

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

// Platform is the whole Pynomaly deployment: the tiers of DESIGN.md, built in order, each on the
// one explicit Kubernetes provider.
type Platform struct {
	pulumi.ResourceState

	Provider  *kubernetes.Provider
	Namespace *Namespace
	Storage   *Storage
	Secrets   *Secrets
	AppConfig *AppConfig

	settings *config.Settings
}

// NewPlatform builds every tier from validated settings.
func NewPlatform(ctx *pulumi.Context, name string, s *config.Settings, opts ...pulumi.ResourceOption) (*Platform, error) {
	p := &Platform{settings: s}
	if err := ctx.RegisterComponentResource(componentType("Platform"), name, p, opts...); err != nil {
		return nil, err
	}

	var err error
	if p.Provider, err = newProvider(ctx, p, s.Kubernetes); err != nil {
		return nil, err
	}
	// Every tier gets the provider; children inherit it from their parent component.
	tier := pulumi.Composite(pulumi.Parent(p), pulumi.Providers(p.Provider))
	protect := s.ProtectState()

	if p.Namespace, err = NewNamespace(ctx, "namespace", &NamespaceArgs{
		Name: s.Namespace, Security: s.Security, Quota: s.Quota, LimitRange: s.LimitRange, Protect: protect,
	}, tier); err != nil {
		return nil, fmt.Errorf("namespace tier: %w", err)
	}
	ns := p.Namespace.Name

	if p.Storage, err = NewStorage(ctx, "storage", &StorageArgs{
		Namespace: ns, Storage: s.Storage, Protect: protect,
	}, tier); err != nil {
		return nil, fmt.Errorf("storage tier: %w", err)
	}
	if p.Secrets, err = NewSecrets(ctx, "secrets", &SecretsArgs{
		Namespace: ns, Rotation: s.Secrets.Rotation, Credentials: s.Credentials,
	}, tier); err != nil {
		return nil, fmt.Errorf("secrets tier: %w", err)
	}
	if p.AppConfig, err = NewAppConfig(ctx, "config", &AppConfigArgs{
		Namespace: ns, Environment: string(s.Environment), LogLevel: s.LogLevel,
	}, tier); err != nil {
		return nil, fmt.Errorf("config tier: %w", err)
	}

	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{
		"namespace":    ns,
		"storageClass": p.Storage.ClassName,
		"appConfigMap": p.AppConfig.ConfigMapName,
		"secretNames":  p.Secrets.Names(),
	})
}

// newProvider is the one Kubernetes provider of the stack: the kubeconfig and context from the
// settings when given, the ambient kubeconfig otherwise, or no cluster at all when manifests are
// rendered to a directory.
func newProvider(ctx *pulumi.Context, parent pulumi.Resource, k config.Kubernetes) (*kubernetes.Provider, error) {
	args := &kubernetes.ProviderArgs{}
	if k.Kubeconfig != "" {
		args.Kubeconfig = pulumi.StringPtr(k.Kubeconfig)
	}
	if k.Context != "" {
		args.Context = pulumi.StringPtr(k.Context)
	}
	if k.RenderYamlToDirectory != "" {
		args.RenderYamlToDirectory = pulumi.StringPtr(k.RenderYamlToDirectory)
	}
	prov, err := kubernetes.NewProvider(ctx, "kubernetes", args, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider: %w", err)
	}
	return prov, nil
}

// Outputs are the stack outputs: what operators and other stacks address. Names, never values.
func (p *Platform) Outputs() map[string]pulumi.Input {
	out := map[string]pulumi.Input{
		"environment":  pulumi.String(p.settings.Environment),
		"namespace":    p.Namespace.Name,
		"storageClass": p.Storage.ClassName,
		"backupClaim":  p.Storage.BackupClaim,
		"modelClaim":   p.Storage.ModelClaim,
		"appConfigMap": p.AppConfig.ConfigMapName,
		"secretNames":  p.Secrets.Names(),
	}
	if dir := p.settings.Kubernetes.RenderYamlToDirectory; dir != "" {
		out["renderedManifests"] = pulumi.String(dir)
	}
	return out
}
