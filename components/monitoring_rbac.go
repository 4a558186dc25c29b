package components

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

func policyRule(group string, resources []string, verbs ...string) *rbacv1.PolicyRuleArgs {
	return &rbacv1.PolicyRuleArgs{
		ApiGroups: pulumi.StringArray{pulumi.String(group)}, Resources: pulumi.ToStringArray(resources),
		Verbs: pulumi.ToStringArray(verbs),
	}
}

var readOnly = []string{"get", "list", "watch"}

// prometheusRBAC is Prometheus's access to the Kubernetes API, read-only and no more than its
// configuration uses. In the namespace: the pods, services, endpoints and endpointslices that
// service discovery reads. In the cluster (a ClusterRole, auto-named so that stacks sharing a
// cluster do not collide): the nodes it discovers, the kubelets' metrics it scrapes directly
// (nodes/metrics; not nodes/proxy, which would also allow exec through the kubelet), and the
// API server's /metrics. The StatefulSet depends on the returned bindings.
func prometheusRBAC(ctx *pulumi.Context, c *Monitoring, ns pulumi.StringInput) ([]pulumi.Resource, error) {
	parent := pulumi.Parent(c)
	meta := func() *metav1.ObjectMetaArgs { return kube.ObjectMeta(ctx, ns, PrometheusName, "prometheus") }
	sa, err := corev1.NewServiceAccount(ctx, PrometheusName, &corev1.ServiceAccountArgs{Metadata: meta()}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus service account: %w", err)
	}
	subjects := rbacv1.SubjectArray{&rbacv1.SubjectArgs{
		Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: ns,
	}}
	role, err := rbacv1.NewRole(ctx, PrometheusName, &rbacv1.RoleArgs{
		Metadata: meta(),
		Rules: rbacv1.PolicyRuleArray{
			policyRule("", []string{"pods", "services", "endpoints"}, readOnly...),
			policyRule("discovery.k8s.io", []string{"endpointslices"}, readOnly...),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus role: %w", err)
	}
	rb, err := rbacv1.NewRoleBinding(ctx, PrometheusName, &rbacv1.RoleBindingArgs{
		Metadata: meta(),
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: subjects,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus role binding: %w", err)
	}
	clusterMeta := func() *metav1.ObjectMetaArgs { return &metav1.ObjectMetaArgs{Labels: kube.Labels(ctx, "prometheus")} }
	cr, err := rbacv1.NewClusterRole(ctx, PrometheusName, &rbacv1.ClusterRoleArgs{
		Metadata: clusterMeta(),
		Rules: rbacv1.PolicyRuleArray{
			policyRule("", []string{"nodes"}, "list", "watch"),
			policyRule("", []string{"nodes/metrics"}, "get"),
			&rbacv1.PolicyRuleArgs{NonResourceURLs: pulumi.StringArray{pulumi.String("/metrics")}, Verbs: pulumi.StringArray{pulumi.String("get")}},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus cluster role: %w", err)
	}
	crb, err := rbacv1.NewClusterRoleBinding(ctx, PrometheusName, &rbacv1.ClusterRoleBindingArgs{
		Metadata: clusterMeta(),
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: cr.Metadata.Name().Elem(),
		},
		Subjects: subjects,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus cluster role binding: %w", err)
	}
	return []pulumi.Resource{rb, crb}, nil
}

// kubeStateMetricsRBAC lets kube-state-metrics list and watch the kinds it reports, in the
// namespace only (it runs with --namespaces).
func kubeStateMetricsRBAC(ctx *pulumi.Context, c *Monitoring, ns pulumi.StringInput) (pulumi.Resource, error) {
	parent := pulumi.Parent(c)
	meta := func() *metav1.ObjectMetaArgs {
		return kube.ObjectMeta(ctx, ns, KubeStateMetricsName, "kube-state-metrics")
	}
	sa, err := corev1.NewServiceAccount(ctx, KubeStateMetricsName, &corev1.ServiceAccountArgs{Metadata: meta()}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: kube-state-metrics service account: %w", err)
	}
	role, err := rbacv1.NewRole(ctx, KubeStateMetricsName, &rbacv1.RoleArgs{
		Metadata: meta(),
		Rules: rbacv1.PolicyRuleArray{
			policyRule("", []string{"pods", "persistentvolumeclaims", "services"}, "list", "watch"),
			policyRule("apps", []string{"deployments", "statefulsets", "replicasets"}, "list", "watch"),
			policyRule("batch", []string{"jobs", "cronjobs"}, "list", "watch"),
			policyRule("autoscaling", []string{"horizontalpodautoscalers"}, "list", "watch"),
			policyRule("policy", []string{"poddisruptionbudgets"}, "list", "watch"),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: kube-state-metrics role: %w", err)
	}
	binding, err := rbacv1.NewRoleBinding(ctx, KubeStateMetricsName, &rbacv1.RoleBindingArgs{
		Metadata: meta(),
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: ns,
		}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: kube-state-metrics role binding: %w", err)
	}
	return binding, nil
}
