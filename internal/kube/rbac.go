package kube

import (
	"fmt"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ReadOnly are the verbs of a rule that only reads.
var ReadOnly = []string{"get", "list", "watch"}

// Rule allows verbs on resources of one API group ("" is the core group).
func Rule(group string, resources []string, verbs ...string) *rbacv1.PolicyRuleArgs {
	return &rbacv1.PolicyRuleArgs{
		ApiGroups: pulumi.StringArray{pulumi.String(group)}, Resources: pulumi.ToStringArray(resources),
		Verbs: pulumi.ToStringArray(verbs),
	}
}

// NamedRule allows verbs on the named objects only. Kubernetes cannot narrow create, list,
// watch or deletecollection by name: those need a Rule.
func NamedRule(group string, resources, names []string, verbs ...string) *rbacv1.PolicyRuleArgs {
	r := Rule(group, resources, verbs...)
	r.ResourceNames = pulumi.ToStringArray(names)
	return r
}

// Access is what a workload that calls the Kubernetes API may do there: a Role in the namespace
// with exactly Rules, bound to the workload's own ServiceAccount (the builders declare it, named
// like the workload). Role and binding are named Name, the workload's name.
type Access struct {
	Name, Component string
	Rules           rbacv1.PolicyRuleArray
}

// NewAccess declares a's Role and RoleBinding. A workload depends on the returned binding, so it
// never starts without its rights.
func NewAccess(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, a Access) (*rbacv1.RoleBinding, error) {
	opt := pulumi.Parent(parent)
	role, err := rbacv1.NewRole(ctx, a.Name, &rbacv1.RoleArgs{Metadata: ObjectMeta(ctx, ns, a.Name, a.Component), Rules: a.Rules}, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: role: %w", a.Component, err)
	}
	binding, err := rbacv1.NewRoleBinding(ctx, a.Name, &rbacv1.RoleBindingArgs{
		Metadata: ObjectMeta(ctx, ns, a.Name, a.Component),
		RoleRef:  RoleRef("Role", role.Metadata.Name().Elem()),
		Subjects: Subjects(a.Name, ns),
	}, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: role binding: %w", a.Component, err)
	}
	return binding, nil
}

// RoleRef points a binding at a Role or ClusterRole.
func RoleRef(kind string, name pulumi.StringInput) *rbacv1.RoleRefArgs {
	return &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String(kind), Name: name}
}

// Subjects is a binding's one subject: the ServiceAccount account in ns.
func Subjects(account string, ns pulumi.StringInput) rbacv1.SubjectArray {
	return rbacv1.SubjectArray{&rbacv1.SubjectArgs{Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(account), Namespace: ns}}
}

// TokenDir is where Kubernetes clients (client-go, Patroni, Prometheus) look for the in-cluster
// credentials: token, ca.crt and namespace.
const TokenDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// tokenVolume is the projected volume that holds those three files.
const tokenVolume = "api-token"

// tokenExpirySeconds is the lifetime of the projected token; the kubelet renews it at 80%, and
// every client above rereads the file.
const tokenExpirySeconds = 3600

// withAccount gives p, a pod of a workload of kind, its own ServiceAccount, named like its
// workload, and declares it with token automounting off: an account is an identity for RBAC and
// audit logs, not a credential every container holds. The stack's rules add the account's
// annotations and labels (a cloud identity). The returned option makes the workload wait for it,
// so no pod is refused for a missing account.
func (p Pod) withAccount(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, name, kind string) (Pod, pulumi.ResourceOption, error) {
	named := func(c Container) bool { return c.Name == p.APIClient }
	if p.APIClient != "" && !slices.ContainsFunc(p.Containers, named) && !slices.ContainsFunc(p.InitContainers, named) {
		return p, nil, fmt.Errorf("%s: the API client %q is none of the pod's containers", p.Component, p.APIClient)
	}
	meta := ObjectMeta(ctx, ns, name, p.Component)
	account := stackRulesOf(ctx).accountOf(p.Component)
	if len(account.Annotations) > 0 {
		meta.Annotations = toStringMap(account.Annotations)
	}
	for k, v := range account.Labels {
		meta.Labels.(pulumi.StringMap)[k] = pulumi.String(v)
	}
	sa, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata:                     meta,
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, pulumi.Parent(parent))
	if err != nil {
		return p, nil, fmt.Errorf("%s: service account: %w", p.Component, err)
	}
	p.account, p.kind = name, kind
	return p, After([]pulumi.Resource{sa}), nil
}

// withToken are containers cs, the API client with the account's token mounted where its
// client library looks for it; the pod's other containers (exporters, sidecars) never see it.
func (p Pod) withToken(cs []Container) []Container {
	cs = slices.Clone(cs)
	for i, c := range cs {
		if c.Name == p.APIClient {
			cs[i].Mounts = append(slices.Clone(c.Mounts), ReadOnlyMount(tokenVolume, TokenDir))
		}
	}
	return cs
}

// volumesWithToken are p's volumes, with the projected token volume when a container calls the
// API: what the kubelet would automount, but mounted in one container only.
func (p Pod) volumesWithToken() corev1.VolumeArray {
	if p.APIClient == "" {
		return p.Volumes
	}
	return append(slices.Clone(p.Volumes), &corev1.VolumeArgs{
		Name: pulumi.String(tokenVolume),
		Projected: &corev1.ProjectedVolumeSourceArgs{Sources: corev1.VolumeProjectionArray{
			&corev1.VolumeProjectionArgs{ServiceAccountToken: &corev1.ServiceAccountTokenProjectionArgs{
				Path: pulumi.String("token"), ExpirationSeconds: pulumi.Int(tokenExpirySeconds),
			}},
			&corev1.VolumeProjectionArgs{ConfigMap: &corev1.ConfigMapProjectionArgs{
				Name:  pulumi.String("kube-root-ca.crt"),
				Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String("ca.crt"), Path: pulumi.String("ca.crt")}},
			}},
			&corev1.VolumeProjectionArgs{DownwardAPI: &corev1.DownwardAPIProjectionArgs{
				Items: corev1.DownwardAPIVolumeFileArray{&corev1.DownwardAPIVolumeFileArgs{
					Path:     pulumi.String("namespace"),
					FieldRef: &corev1.ObjectFieldSelectorArgs{ApiVersion: pulumi.String("v1"), FieldPath: pulumi.String("metadata.namespace")},
				}},
			}},
		}},
	})
}
