package kube

import (
	"fmt"

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

// Access is the identity of a workload that calls the Kubernetes API: its own ServiceAccount
// (Pod.ServiceAccount names it) and a Role in the namespace with exactly Rules, bound to it. All
// three objects are named Name.
type Access struct {
	Name, Component string
	Rules           rbacv1.PolicyRuleArray
}

// NewAccess declares a's ServiceAccount, Role and RoleBinding. A workload depends on the
// returned binding, so it never starts without its rights.
func NewAccess(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, a Access) (*corev1.ServiceAccount, *rbacv1.RoleBinding, error) {
	opt := pulumi.Parent(parent)
	sa, err := corev1.NewServiceAccount(ctx, a.Name, &corev1.ServiceAccountArgs{Metadata: ObjectMeta(ctx, ns, a.Name, a.Component)}, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: service account: %w", a.Component, err)
	}
	role, err := rbacv1.NewRole(ctx, a.Name, &rbacv1.RoleArgs{Metadata: ObjectMeta(ctx, ns, a.Name, a.Component), Rules: a.Rules}, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: role: %w", a.Component, err)
	}
	binding, err := rbacv1.NewRoleBinding(ctx, a.Name, &rbacv1.RoleBindingArgs{
		Metadata: ObjectMeta(ctx, ns, a.Name, a.Component),
		RoleRef:  RoleRef("Role", role.Metadata.Name().Elem()),
		Subjects: Subjects(sa, ns),
	}, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: role binding: %w", a.Component, err)
	}
	return sa, binding, nil
}

// RoleRef points a binding at a Role or ClusterRole.
func RoleRef(kind string, name pulumi.StringInput) *rbacv1.RoleRefArgs {
	return &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String(kind), Name: name}
}

// Subjects is a binding's one subject: the ServiceAccount sa in ns.
func Subjects(sa *corev1.ServiceAccount, ns pulumi.StringInput) rbacv1.SubjectArray {
	return rbacv1.SubjectArray{&rbacv1.SubjectArgs{Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: ns}}
}
