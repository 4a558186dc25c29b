package foundation

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names of the Roles (and their bindings) for people and CI.
const (
	ViewerRoleName   = "pynomaly-viewer"
	DeployerRoleName = "pynomaly-deployer"
	// DeployerPreflightName is the ClusterRole (and binding) that lets deployers run the preflight.
	DeployerPreflightName = "pynomaly-deployer-preflight"
)

// kinds are resources of one API group.
type kinds struct {
	group     string
	resources []string
}

// declaredKinds are the namespaced kinds the program declares, in every environment, entry
// point and monitoring mode: what `pulumi up` creates, changes and deletes. A test holds the list
// to what the program declares.
var declaredKinds = []kinds{
	{"", []string{"configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims", "resourcequotas", "limitranges"}},
	{"apps", []string{"deployments", "statefulsets", "daemonsets"}},
	{"batch", []string{"jobs", "cronjobs"}},
	{"autoscaling", []string{"horizontalpodautoscalers"}},
	{"policy", []string{"poddisruptionbudgets"}},
	{"rbac.authorization.k8s.io", []string{"roles", "rolebindings"}},
	{"networking.k8s.io", []string{"ingresses", "networkpolicies"}},
	{"gateway.networking.k8s.io", []string{"gateways", "httproutes"}},
	{"gateway.envoyproxy.io", []string{"backendtrafficpolicies"}},
	{"gateway.nginx.org", []string{"ratelimitpolicies", "upstreamsettingspolicies"}},
	{"cert-manager.io", []string{"certificates", "issuers"}},
	{"monitoring.coreos.com", []string{"podmonitors", "prometheusrules"}},
	{"external-secrets.io", []string{"externalsecrets"}},
}

// runtimeKinds are what the cluster's controllers make of them: what `pulumi up` awaits
// (rollouts, endpoints of Services, events for its messages) and what people read.
var runtimeKinds = []kinds{
	{"", []string{"pods", "endpoints", "events"}},
	{"apps", []string{"replicasets"}},
	{"discovery.k8s.io", []string{"endpointslices"}},
}

// manage are the verbs of server-side apply, replacement and deletion, and of awaiting.
var manage = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// viewerRules read every kind above but Secrets, and the pods' logs (which hold no credential:
// see docs/security.md).
func viewerRules() rbacv1.PolicyRuleArray {
	var rules rbacv1.PolicyRuleArray
	for _, k := range append(append([]kinds{}, declaredKinds...), runtimeKinds...) {
		var rs []string
		for _, r := range k.resources {
			if r != "secrets" {
				rs = append(rs, r)
			}
		}
		rules = append(rules, kube.Rule(k.group, rs, kube.ReadOnly...))
	}
	return append(rules, kube.Rule("", []string{"pods/log"}, "get"))
}

// deployerRules are what `pulumi up` of this program needs in the namespace, and what it needs
// to grant: Kubernetes lets a subject create a Role or binding only with rights it holds itself,
// so the deployer holds every right of the workloads' Roles and of the viewer Role (Patroni's
// pod patch among them, and the snapshot CronJob's VolumeSnapshots). Cluster-scoped objects
// (the Namespace, the StorageClass, the VolumeSnapshotClass and PriorityClasses the stack may
// create, Prometheus's ClusterRole, the admission policies) are not in a Role: a cluster
// administrator deploys the stack once, and changes to those.
func deployerRules() rbacv1.PolicyRuleArray {
	var rules rbacv1.PolicyRuleArray
	for _, k := range declaredKinds {
		rules = append(rules, kube.Rule(k.group, k.resources, manage...))
	}
	for _, k := range runtimeKinds {
		rules = append(rules, kube.Rule(k.group, k.resources, kube.ReadOnly...))
	}
	rules = append(rules, volumeSnapshotRules()...)
	// The preflight reads the SecretStore that secrets.external names (storeKind SecretStore).
	rules = append(rules, kube.Rule("external-secrets.io", []string{"secretstores"}, "get"))
	return append(rules, kube.Rule("", []string{"pods"}, "patch"), kube.Rule("", []string{"pods/log"}, "get"))
}

// AccessArgs configures the Roles for people and CI.
type AccessArgs struct {
	tier.Context
	Settings config.Access
	// PreflightReads are the cluster-scoped objects the stack's preflight reads (its named
	// StorageClass, IngressClass, GatewayClass, ClusterIssuer): a deployer may get exactly those.
	PreflightReads []ClusterObject
	// ImagePolicy is the stack's image-sources admission policy, which follows the images
	// settings: a deployer may change it, and no other policy, so an image update needs no
	// administrator (the deployer chooses the images already).
	ImagePolicy string
}

// NewAccessRoles declares the viewer and deployer Roles and bindings of access in namespace ns,
// each while its list names someone. A stack's second namespace (the node agents') gets the same
// Roles, their Pulumi names starting with prefix.
func NewAccessRoles(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, prefix string, access config.Access) error {
	for _, r := range []struct {
		name     string
		subjects []string
		rules    rbacv1.PolicyRuleArray
	}{
		{ViewerRoleName, access.Viewers, viewerRules()},
		{DeployerRoleName, access.Deployers, deployerRules()},
	} {
		if len(r.subjects) == 0 {
			continue
		}
		if err := accessRole(ctx, parent, ns, prefix, r.name, config.Subjects(r.subjects), r.rules); err != nil {
			return err
		}
	}
	return nil
}

// ClusterObject is one named cluster-scoped object.
type ClusterObject struct {
	Group, Resource, Name string
}

// Access binds the stack's viewers and deployers to their Roles in the namespace; a Role and
// its binding exist only while their list names someone.
type Access struct {
	pulumi.ResourceState
	tier.OutputSet
}

// NewAccess declares the viewer and deployer Roles and bindings the settings ask for.
func NewAccess(ctx *pulumi.Context, name string, args *AccessArgs, opts ...pulumi.ResourceOption) (*Access, error) {
	c := &Access{}
	if err := ctx.RegisterComponentResource(tier.Type("Access"), name, c, opts...); err != nil {
		return nil, err
	}
	if err := NewAccessRoles(ctx, c, args.Namespace, "", args.Settings); err != nil {
		return nil, err
	}
	if len(args.Settings.Deployers) > 0 && (len(args.PreflightReads) > 0 || args.ImagePolicy != "") {
		if err := c.deployerClusterRole(ctx, config.Subjects(args.Settings.Deployers), args.PreflightReads, args.ImagePolicy); err != nil {
			return nil, err
		}
	}
	c.Keep(pulumi.Map{})
	return c, nil
}

// deployerClusterRole is what the deployers may do outside the namespace, by name and nothing
// else: get the cluster-scoped objects the preflight reads (without it a deployer's preview stops
// at the preflight), and change the image-sources admission policy. A ClusterRole, auto-named so
// that stacks sharing a cluster do not collide.
func (c *Access) deployerClusterRole(ctx *pulumi.Context, subjects []config.Subject, reads []ClusterObject, imagePolicy string) error {
	var rules rbacv1.PolicyRuleArray
	for _, o := range reads {
		rules = append(rules, kube.NamedRule(o.Group, []string{o.Resource}, []string{o.Name}, "get"))
	}
	if imagePolicy != "" {
		rules = append(rules, kube.NamedRule("admissionregistration.k8s.io", []string{"validatingadmissionpolicies"},
			[]string{imagePolicy}, "get", "patch", "update"))
	}
	meta := &metav1.ObjectMetaArgs{Labels: kube.Labels(ctx, "access")}
	role, err := rbacv1.NewClusterRole(ctx, DeployerPreflightName, &rbacv1.ClusterRoleArgs{Metadata: meta, Rules: rules}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("access: cluster role %s: %w", DeployerPreflightName, err)
	}
	_, err = rbacv1.NewClusterRoleBinding(ctx, DeployerPreflightName, &rbacv1.ClusterRoleBindingArgs{
		Metadata: meta,
		RoleRef:  kube.RoleRef("ClusterRole", role.Metadata.Name().Elem()),
		Subjects: accessSubjects(subjects),
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("access: cluster role binding %s: %w", DeployerPreflightName, err)
	}
	return nil
}

// accessSubjects are the settings' subjects as RBAC subjects.
func accessSubjects(subjects []config.Subject) rbacv1.SubjectArray {
	var subs rbacv1.SubjectArray
	for _, s := range subjects {
		sub := &rbacv1.SubjectArgs{Kind: pulumi.String(s.Kind), Name: pulumi.String(s.Name)}
		if s.Kind == "ServiceAccount" {
			sub.Namespace = pulumi.String(s.Namespace)
		} else {
			sub.ApiGroup = pulumi.String("rbac.authorization.k8s.io")
		}
		subs = append(subs, sub)
	}
	return subs
}

func accessRole(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, prefix, name string, subjects []config.Subject, rules rbacv1.PolicyRuleArray) error {
	role, err := rbacv1.NewRole(ctx, prefix+name, &rbacv1.RoleArgs{Metadata: kube.ObjectMeta(ctx, ns, name, "access"), Rules: rules}, pulumi.Parent(parent))
	if err != nil {
		return fmt.Errorf("access: role %s: %w", name, err)
	}
	_, err = rbacv1.NewRoleBinding(ctx, prefix+name, &rbacv1.RoleBindingArgs{
		Metadata: kube.ObjectMeta(ctx, ns, name, "access"),
		RoleRef:  kube.RoleRef("Role", role.Metadata.Name().Elem()),
		Subjects: accessSubjects(subjects),
	}, pulumi.Parent(parent))
	if err != nil {
		return fmt.Errorf("access: role binding %s: %w", name, err)
	}
	return nil
}
