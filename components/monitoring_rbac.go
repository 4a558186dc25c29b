package components

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// prometheusRBAC is Prometheus's access to the Kubernetes API, read-only and no more than its
// configuration uses. In the namespace: the pods, services, endpoints and endpointslices that
// service discovery reads. In the cluster (a ClusterRole, auto-named so that stacks sharing a
// cluster do not collide): the nodes it discovers, the kubelets' metrics it scrapes directly
// (nodes/metrics; not nodes/proxy, which would also allow exec through the kubelet), and the
// API server's /metrics. The StatefulSet depends on the returned bindings.
func prometheusRBAC(ctx *pulumi.Context, c *Monitoring, ns pulumi.StringInput) ([]pulumi.Resource, error) {
	rb, err := kube.NewAccess(ctx, c, ns, kube.Access{Name: PrometheusName, Component: "prometheus", Rules: rbacv1.PolicyRuleArray{
		kube.Rule("", []string{"pods", "services", "endpoints"}, kube.ReadOnly...),
		kube.Rule("discovery.k8s.io", []string{"endpointslices"}, kube.ReadOnly...),
	}})
	if err != nil {
		return nil, fmt.Errorf("monitoring: %w", err)
	}
	parent := pulumi.Parent(c)
	clusterMeta := func() *metav1.ObjectMetaArgs { return &metav1.ObjectMetaArgs{Labels: kube.Labels(ctx, "prometheus")} }
	cr, err := rbacv1.NewClusterRole(ctx, PrometheusName, &rbacv1.ClusterRoleArgs{
		Metadata: clusterMeta(),
		Rules: rbacv1.PolicyRuleArray{
			kube.Rule("", []string{"nodes"}, "list", "watch"),
			kube.Rule("", []string{"nodes/metrics"}, "get"),
			&rbacv1.PolicyRuleArgs{NonResourceURLs: pulumi.StringArray{pulumi.String("/metrics")}, Verbs: pulumi.StringArray{pulumi.String("get")}},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus cluster role: %w", err)
	}
	crb, err := rbacv1.NewClusterRoleBinding(ctx, PrometheusName, &rbacv1.ClusterRoleBindingArgs{
		Metadata: clusterMeta(),
		RoleRef:  kube.RoleRef("ClusterRole", cr.Metadata.Name().Elem()),
		Subjects: kube.Subjects(PrometheusName, ns),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus cluster role binding: %w", err)
	}
	return []pulumi.Resource{rb, crb}, nil
}

// kubeStateMetricsRBAC lets kube-state-metrics list and watch the kinds it reports, in the
// namespace only (it runs with --namespaces).
func kubeStateMetricsRBAC(ctx *pulumi.Context, c *Monitoring, ns pulumi.StringInput) (pulumi.Resource, error) {
	binding, err := kube.NewAccess(ctx, c, ns, kube.Access{Name: KubeStateMetricsName, Component: "kube-state-metrics", Rules: rbacv1.PolicyRuleArray{
		kube.Rule("", []string{"pods", "persistentvolumeclaims", "services"}, "list", "watch"),
		kube.Rule("apps", []string{"deployments", "statefulsets", "replicasets"}, "list", "watch"),
		kube.Rule("batch", []string{"jobs", "cronjobs"}, "list", "watch"),
		kube.Rule("autoscaling", []string{"horizontalpodautoscalers"}, "list", "watch"),
		kube.Rule("policy", []string{"poddisruptionbudgets"}, "list", "watch"),
	}})
	if err != nil {
		return nil, fmt.Errorf("monitoring: %w", err)
	}
	return binding, nil
}
