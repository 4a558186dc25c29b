package components

import (
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// postgresRBAC is Patroni's access to the Kubernetes API: it keeps leader election and cluster
// state in ConfigMaps and labels pods with their role, and needs nothing else. The StatefulSet
// depends on the returned binding, so Patroni never starts without its rights.
func postgresRBAC(ctx *pulumi.Context, c *Postgres, ns pulumi.StringInput) (pulumi.Resource, error) {
	_, binding, err := kube.NewAccess(ctx, c, ns, kube.Access{Name: PostgresName, Component: "postgres", Rules: rbacv1.PolicyRuleArray{
		kube.Rule("", []string{"configmaps"}, "create", "get", "list", "patch", "update", "watch", "delete"),
		kube.Rule("", []string{"pods"}, "get", "list", "patch", "update", "watch"),
	}})
	return binding, err
}
