// Package nodeagents is the node agents' tier: the namespace of the platform's only pods that take
// something of their node (its files, network or processes), and the two agents in it: the log
// collector, which tails the platform's container logs, and node-exporter. Pod Security
// "restricted" and "baseline" refuse both, so they live apart, in a namespace at "privileged",
// and the platform's namespace keeps its level.
package nodeagents

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/logging"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names and ports of the node agents.
const (
	CollectorName      = "pynomaly-log-collector"
	CollectorComponent = "log-collector"
	NodeExporterName   = "pynomaly-node-exporter"
	// NodeExporterComponent's pods share the node's network: a NetworkPolicy does not apply to
	// them, and Prometheus reaches them at the nodes' addresses (network.nodeCidrs).
	NodeExporterComponent = "node-exporter"
	NodeExporterPort      = 9100
	// The node's directories the collector reads and writes: the kubelet's pod logs, and its
	// own positions and queue, one directory per platform namespace so two stacks on one
	// cluster keep theirs apart.
	podLogDir     = "/var/log/pods"
	collectorHome = "/var/lib/pynomaly-log-collector"
	// authorizationEnv carries logging.external.secretName's authorization key.
	authorizationEnv = "LOG_AUTHORIZATION"
)

// Args configures the node agents.
type Args struct {
	// Namespace is the platform's (whose pods' logs are collected); NodeNamespace the agents'.
	Namespace     pulumi.StringInput
	NodeNamespace string
	Logging       config.Logging
	// NodeExporter, when not nil, runs node-exporter with these settings.
	NodeExporter *config.NodeExporter
	Images       config.Images
	// StoreURL is the bundled log store's base URL (logging.mode bundled).
	StoreURL pulumi.StringInput
	// EdgeComponent is the edge's component label, whose access log counts failed logins.
	EdgeComponent string
	// Access are the people and CI given the platform namespace's Roles: they get the same in
	// the agents' namespace.
	Access config.Access
}

// NodeAgents is the node agents' namespace and what runs in it.
type NodeAgents struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	// Namespace is the agents' namespace, empty when the stack runs none.
	Namespace pulumi.StringOutput `pulumi:"namespace"`
	// Ready is what other tiers' objects in that namespace wait for: the Namespace object.
	Ready []pulumi.Resource
}

// New creates the node agents' tier: nothing when neither logging nor node-exporter is on.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*NodeAgents, error) {
	c := &NodeAgents{Namespace: pulumi.String("").ToStringOutput()}
	if err := ctx.RegisterComponentResource(tier.Type("NodeAgents"), name, c, opts...); err != nil {
		return nil, err
	}
	if !args.Logging.On() && args.NodeExporter == nil {
		c.Keep(pulumi.Map{})
		return c, nil
	}
	labels := kube.Labels(ctx, "node-agents")
	for k, v := range PodSecurityLabels() {
		labels[k] = pulumi.String(v)
	}
	ns, err := corev1.NewNamespace(ctx, args.NodeNamespace, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(args.NodeNamespace), Labels: labels},
	}, pulumi.Parent(c)) // it holds no data: the collector's positions are on the nodes
	if err != nil {
		return nil, fmt.Errorf("node agents: namespace: %w", err)
	}
	c.Namespace, c.Ready = ns.Metadata.Name().Elem(), []pulumi.Resource{ns}
	if err := foundation.NewAccessRoles(ctx, c, c.Namespace, "node-", args.Access); err != nil {
		return nil, err
	}
	if args.Logging.On() {
		if err := c.collector(ctx, args); err != nil {
			return nil, err
		}
	}
	if args.NodeExporter != nil {
		_, w, err := kube.NewDaemonSet(ctx, c, c.Namespace, nodeExporter(args))
		if err != nil {
			return nil, err
		}
		c.Add(w)
	}
	c.Keep(pulumi.Map{"namespace": c.Namespace})
	return c, nil
}

// Plan is the node agents before they are declared.
func Plan(args *Args) (tier.Plan, error) {
	var p tier.Plan
	if args.Logging.On() {
		p.Objects = append(p.Objects, collectorDaemonSet(args, nil))
	}
	if args.NodeExporter != nil {
		p.Objects = append(p.Objects, nodeExporter(args))
	}
	return p, nil
}

// PodSecurityLabels admit the agents: "privileged" is the only level that allows a host path,
// the host's network or processes. It is enforced, warned and audited alike, so the API server
// reports nothing for what the namespace exists for.
func PodSecurityLabels() map[string]string {
	out := map[string]string{}
	for _, mode := range []string{"enforce", "warn", "audit"} {
		out["pod-security.kubernetes.io/"+mode] = "privileged"
		out["pod-security.kubernetes.io/"+mode+"-version"] = "latest"
	}
	return out
}

// collector declares the collector's configuration, its right to read the platform's pods, and
// its DaemonSet.
func (c *NodeAgents) collector(ctx *pulumi.Context, args *Args) error {
	conf, err := corev1.NewConfigMap(ctx, CollectorName, &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, c.Namespace, CollectorComponent),
		Data:     pulumi.StringMap{"config.yaml": collectorConfig(args)},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("log collector: config: %w", err)
	}
	// Its one right: to read the platform's pods, for their app and component labels. A Role in
	// that namespace, not a ClusterRole: the collector watches no other namespace.
	role, err := rbacv1.NewRole(ctx, CollectorName, &rbacv1.RoleArgs{
		Metadata: kube.ObjectMeta(ctx, args.Namespace, CollectorName, CollectorComponent),
		Rules:    rbacv1.PolicyRuleArray{kube.Rule("", []string{"pods"}, kube.ReadOnly...)},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("log collector: role: %w", err)
	}
	binding, err := rbacv1.NewRoleBinding(ctx, CollectorName, &rbacv1.RoleBindingArgs{
		Metadata: kube.ObjectMeta(ctx, args.Namespace, CollectorName, CollectorComponent),
		RoleRef:  kube.RoleRef("Role", role.Metadata.Name().Elem()),
		Subjects: kube.Subjects(CollectorName, c.Namespace),
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("log collector: role binding: %w", err)
	}
	_, w, err := kube.NewDaemonSet(ctx, c, c.Namespace, collectorDaemonSet(args, conf.Metadata.Name()), pulumi.DependsOn([]pulumi.Resource{binding}))
	if err != nil {
		return err
	}
	c.Add(w)
	return nil
}

// collectorConfig is the collector's configuration: the store's URL is known once its Service is.
func collectorConfig(args *Args) pulumi.StringOutput {
	store := args.StoreURL
	if store == nil {
		store = pulumi.String("")
	}
	return pulumi.All(args.Namespace, store).ApplyT(func(v []any) string {
		return Collector(args, v[0].(string), v[1].(string)).Config()
	}).(pulumi.StringOutput)
}

// Collector is the collector of a stack in namespace ns whose bundled store is at storeURL.
func Collector(args *Args, ns, storeURL string) logging.Collector {
	return logging.Collector{
		Namespace: ns, LogRoot: podLogDir, StorageDir: collectorHome + "/" + ns,
		KubeAuth: "serviceAccount", Listen: "${env:POD_IP}", EdgeComponent: args.EdgeComponent,
		Export: export(args.Logging, storeURL),
	}
}

// export is where the lines go: the bundled store, with the labels as its stream fields, or
// the external endpoint by its protocol.
func export(l config.Logging, storeURL string) logging.Export {
	if l.Mode == config.LoggingBundled {
		return logging.Export{LogsURL: storeURL + logging.StoreLogsPath, StreamFields: logging.StreamFields()}
	}
	e := logging.Export{LogsURL: ExternalLogsURL(l.External)}
	if l.External.SecretName != "" {
		e.AuthorizationEnv = authorizationEnv
	}
	return e
}

// ExternalLogsURL is the OTLP/HTTP logs URL of an external store: OTLP's /v1/logs under the
// endpoint, under /otlp for Loki.
func ExternalLogsURL(e config.ExternalLogs) string {
	base := e.Endpoint
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	if e.Protocol == "loki" {
		base += "/otlp"
	}
	return base + "/v1/logs"
}

// ExternalLogsPort is the external store's port, from its endpoint (443 or 80 by scheme).
func ExternalLogsPort(e config.ExternalLogs) int { return config.URLPort(e.Endpoint) }
