// Package foundation is what every other tier stands on: the namespace with its quota, limits and
// Pod Security, the Roles of people and CI, storage with its volume snapshots, and the internal CA.
package foundation

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names of the namespace tier's objects.
const (
	ResourceQuotaName = "pynomaly-quota"
	LimitRangeName    = "pynomaly-limits"
)

// NamespaceArgs configures the namespace tier.
type NamespaceArgs struct {
	Name       string
	Security   config.SecurityLevel
	Quota      config.Quota
	LimitRange config.LimitRange
	// Protect keeps the namespace through `pulumi destroy`: deleting a namespace deletes every
	// claim in it, so in prod it is protected like the databases themselves.
	Protect bool
	// PriorityClasses are created before the namespace, for its pods; none unless the stack
	// creates its own (priorityClasses.create).
	PriorityClasses []PriorityClass
}

// Namespace is the seed's data-science-namespace.yaml: the namespace with Pod Security
// Admission labels, a ResourceQuota and a LimitRange.
type Namespace struct {
	pulumi.ResourceState
	tier.OutputSet

	// Name resolves once the namespace exists; namespaced objects take it so that they depend
	// on the namespace.
	Name pulumi.StringOutput `pulumi:"name"`
}

// PodSecurityLabels maps a security level onto Pod Security Admission labels. relaxed enforces
// "baseline" and reports what "restricted" would reject; enforced and strict enforce "restricted".
func PodSecurityLabels(level config.SecurityLevel) map[string]string {
	enforce := "restricted"
	if level == config.Relaxed {
		enforce = "baseline"
	}
	return map[string]string{
		"pod-security.kubernetes.io/enforce":         enforce,
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn":            "restricted",
		"pod-security.kubernetes.io/warn-version":    "latest",
		"pod-security.kubernetes.io/audit":           "restricted",
		"pod-security.kubernetes.io/audit-version":   "latest",
	}
}

// NewNamespace creates the namespace tier.
func NewNamespace(ctx *pulumi.Context, name string, args *NamespaceArgs, opts ...pulumi.ResourceOption) (*Namespace, error) {
	c := &Namespace{}
	if err := ctx.RegisterComponentResource(tier.Type("Namespace"), name, c, opts...); err != nil {
		return nil, err
	}
	nsLabels := kube.Labels(ctx, "namespace")
	for k, v := range PodSecurityLabels(args.Security) {
		nsLabels[k] = pulumi.String(v)
	}
	classes, err := newPriorityClasses(ctx, c, args.PriorityClasses)
	if err != nil {
		return nil, err
	}
	ns, err := corev1.NewNamespace(ctx, args.Name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name), Labels: nsLabels},
	}, pulumi.Parent(c), tier.Stateful(args.Protect), kube.After(classes))
	if err != nil {
		return nil, fmt.Errorf("namespace: %w", err)
	}
	c.Name = ns.Metadata.Name().Elem()

	q := args.Quota
	if _, err := corev1.NewResourceQuota(ctx, ResourceQuotaName, &corev1.ResourceQuotaArgs{
		Metadata: kube.ObjectMeta(ctx, c.Name, ResourceQuotaName, "namespace"),
		Spec: &corev1.ResourceQuotaSpecArgs{
			Hard: pulumi.StringMap{
				"requests.cpu":               pulumi.String(q.RequestsCPU),
				"requests.memory":            pulumi.String(q.RequestsMemory),
				"limits.cpu":                 pulumi.String(q.LimitsCPU),
				"limits.memory":              pulumi.String(q.LimitsMemory),
				"requests.storage":           pulumi.String(q.RequestsStorage),
				"requests.ephemeral-storage": pulumi.String(q.RequestsEphemeralStorage),
				"limits.ephemeral-storage":   pulumi.String(q.LimitsEphemeralStorage),
				"pods":                       pulumi.String(fmt.Sprint(q.Pods)),
				"persistentvolumeclaims":     pulumi.String(fmt.Sprint(q.PersistentVolumeClaims)),
			},
		},
	}, pulumi.Parent(c)); err != nil {
		return nil, fmt.Errorf("namespace: resource quota: %w", err)
	}

	// With limits in the quota, the API server rejects any container without limits (ephemeral
	// storage included); the LimitRange fills them in for the few that do not set their own
	// (debug pods).
	l := args.LimitRange
	if _, err := corev1.NewLimitRange(ctx, LimitRangeName, &corev1.LimitRangeArgs{
		Metadata: kube.ObjectMeta(ctx, c.Name, LimitRangeName, "namespace"),
		Spec: &corev1.LimitRangeSpecArgs{
			Limits: corev1.LimitRangeItemArray{&corev1.LimitRangeItemArgs{
				Type:           pulumi.String("Container"),
				DefaultRequest: containerLimits(l.DefaultRequestCPU, l.DefaultRequestMemory, l.DefaultRequestEphemeralStorage),
				Default:        containerLimits(l.DefaultCPU, l.DefaultMemory, l.DefaultEphemeralStorage),
				Max:            containerLimits(l.MaxCPU, l.MaxMemory, l.MaxEphemeralStorage),
			}},
		},
	}, pulumi.Parent(c)); err != nil {
		return nil, fmt.Errorf("namespace: limit range: %w", err)
	}

	c.Keep(pulumi.Map{"name": c.Name})
	return c, nil
}

// containerLimits is one line of a LimitRange: cpu, memory and ephemeral storage.
func containerLimits(cpu, memory, ephemeralStorage string) pulumi.StringMap {
	return pulumi.StringMap{"cpu": pulumi.String(cpu), "memory": pulumi.String(memory), "ephemeral-storage": pulumi.String(ephemeralStorage)}
}
