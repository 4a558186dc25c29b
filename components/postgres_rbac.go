package components

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// postgresRBAC is Patroni's access to the Kubernetes API: it keeps leader election and cluster
// state in ConfigMaps and labels pods with their role, and needs nothing else. The StatefulSet
// depends on the returned binding, so Patroni never starts without its rights.
func postgresRBAC(ctx *pulumi.Context, c *Postgres, ns pulumi.StringInput) (*rbacv1.RoleBinding, error) {
	parent := pulumi.Parent(c)
	meta := func() *metav1.ObjectMetaArgs { return kube.ObjectMeta(ctx, ns, PostgresName, "postgres") }
	sa, err := corev1.NewServiceAccount(ctx, PostgresName, &corev1.ServiceAccountArgs{Metadata: meta()}, parent)
	if err != nil {
		return nil, fmt.Errorf("postgres: service account: %w", err)
	}
	rule := func(resource string, verbs ...string) *rbacv1.PolicyRuleArgs {
		return &rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.StringArray{pulumi.String("")}, Resources: pulumi.StringArray{pulumi.String(resource)},
			Verbs: pulumi.ToStringArray(verbs),
		}
	}
	role, err := rbacv1.NewRole(ctx, PostgresName, &rbacv1.RoleArgs{
		Metadata: meta(),
		Rules: rbacv1.PolicyRuleArray{
			rule("configmaps", "create", "get", "list", "patch", "update", "watch", "delete"),
			rule("pods", "get", "list", "patch", "update", "watch"),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("postgres: role: %w", err)
	}
	binding, err := rbacv1.NewRoleBinding(ctx, PostgresName, &rbacv1.RoleBindingArgs{
		Metadata: meta(),
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: ns,
		}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("postgres: role binding: %w", err)
	}
	return binding, nil
}
