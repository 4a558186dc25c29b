package monitoring

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

// prometheusNodeAgentsRBAC lets Prometheus, of namespace ns, discover the node agents' pods in
// their own namespace nodeNS: a Role there that reads pods (the only kind a pod job's discovery
// watches), bound to Prometheus's ServiceAccount in ns. Both are named like Prometheus; the
// StatefulSet depends on the returned binding; both wait for ready (the namespace's object).
func prometheusNodeAgentsRBAC(ctx *pulumi.Context, c *Monitoring, ns pulumi.StringInput, nodeNS string, ready []pulumi.Resource) (pulumi.Resource, error) {
	parent, after := pulumi.Parent(c), kube.After(ready)
	name := PrometheusName + "-node-agents"
	there := pulumi.String(nodeNS)
	role, err := rbacv1.NewRole(ctx, name, &rbacv1.RoleArgs{
		Metadata: kube.ObjectMeta(ctx, there, PrometheusName, "prometheus"),
		Rules:    rbacv1.PolicyRuleArray{kube.Rule("", []string{"pods"}, kube.ReadOnly...)},
	}, parent, after)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus role in %s: %w", nodeNS, err)
	}
	binding, err := rbacv1.NewRoleBinding(ctx, name, &rbacv1.RoleBindingArgs{
		Metadata: kube.ObjectMeta(ctx, there, PrometheusName, "prometheus"),
		RoleRef:  kube.RoleRef("Role", role.Metadata.Name().Elem()),
		Subjects: kube.Subjects(PrometheusName, ns),
	}, parent, after)
	if err != nil {
		return nil, fmt.Errorf("monitoring: prometheus role binding in %s: %w", nodeNS, err)
	}
	return binding, nil
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

// metricsAdapterRBAC is what the external metrics adapter's own ServiceAccount (which its
// Deployment declares, named like it) may do. As an aggregated API server it
// authenticates the API server's requests and asks it whether each caller may read the metric:
// the built-in system:auth-delegator (token and access reviews), and in kube-system the
// built-in extension-apiserver-authentication-reader (the request-header CA it trusts). It reads
// nothing else of the cluster: it serves external metrics only, from Prometheus. Both bindings
// are auto-named, so stacks sharing a cluster do not collide. (The HPA controller's own
// built-in role already reads external metrics.)
func metricsAdapterRBAC(ctx *pulumi.Context, c *Monitoring, ns pulumi.StringInput) ([]pulumi.Resource, error) {
	parent := pulumi.Parent(c)
	delegator, err := rbacv1.NewClusterRoleBinding(ctx, MetricsAdapterName, &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Labels: kube.Labels(ctx, "metrics-adapter")},
		RoleRef:  kube.RoleRef("ClusterRole", pulumi.String("system:auth-delegator")),
		Subjects: kube.Subjects(MetricsAdapterName, ns),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: metrics adapter auth delegator: %w", err)
	}
	reader, err := rbacv1.NewRoleBinding(ctx, MetricsAdapterName+"-auth-reader", &rbacv1.RoleBindingArgs{
		Metadata: kube.AutoNamedMeta(ctx, pulumi.String("kube-system"), "metrics-adapter"),
		RoleRef:  kube.RoleRef("Role", pulumi.String("extension-apiserver-authentication-reader")),
		Subjects: kube.Subjects(MetricsAdapterName, ns),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("monitoring: metrics adapter auth reader: %w", err)
	}
	return []pulumi.Resource{delegator, reader}, nil
}
