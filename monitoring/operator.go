package monitoring

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// monitoringAPIVersion is the Prometheus Operator's API.
const monitoringAPIVersion = "monitoring.coreos.com/v1"

// operatorObjects are what the cluster's Prometheus Operator reads: a PodMonitor per scrape job
// (the same pods, port and path as the bundled configuration, with the same job and component
// labels, so the rules and dashboards hold) and the platform's rules as a PrometheusRule.
func (c *Monitoring) operatorObjects(ctx *pulumi.Context, args *Args) error {
	ns := args.Namespace
	for _, t := range c.Targets {
		opts := []pulumi.ResourceOption{pulumi.Parent(c)}
		if t.Namespace != "" {
			opts = append(opts, kube.After(args.NodeNamespaceReady))
		}
		if _, err := apiextensions.NewCustomResource(ctx, t.Job, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String(monitoringAPIVersion),
			Kind:       pulumi.String("PodMonitor"),
			Metadata:   kube.ObjectMeta(ctx, targetNamespace(ns, t), t.Job, "monitoring"),
			OtherFields: map[string]any{"spec": pulumi.Map{
				"selector": pulumi.Map{"matchLabels": pulumi.ToStringMap(t.Selector)},
				"podMetricsEndpoints": pulumi.Array{withTLS(t, pulumi.Map{
					"port": pulumi.String(t.PortName), "path": pulumi.String(t.Path), "honorLabels": pulumi.Bool(t.HonorLabels),
					"relabelings": relabelings(t),
				})},
			}},
		}, opts...); err != nil {
			return fmt.Errorf("monitoring: pod monitor %s: %w", t.Job, err)
		}
	}
	groups := ns.ToStringOutput().ApplyT(func(n string) []any {
		var rules []any
		for _, r := range args.alertRules(n) {
			rules = append(rules, map[string]any{
				"alert": r.Name, "expr": r.Expr, "for": r.For,
				"labels":      map[string]any{"severity": r.Severity},
				"annotations": map[string]any{"summary": r.Summary, "description": r.Description, "runbook_url": r.Runbook()},
			})
		}
		return []any{map[string]any{"name": "pynomaly", "rules": rules}}
	}).(pulumi.ArrayOutput)
	if _, err := apiextensions.NewCustomResource(ctx, "pynomaly", &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(monitoringAPIVersion),
		Kind:        pulumi.String("PrometheusRule"),
		Metadata:    kube.ObjectMeta(ctx, ns, "pynomaly", "monitoring"),
		OtherFields: map[string]any{"spec": pulumi.Map{"groups": groups}},
	}, pulumi.Parent(c)); err != nil {
		return fmt.Errorf("monitoring: prometheus rule: %w", err)
	}
	return nil
}

// targetNamespace is where a target's PodMonitor goes: its pods' namespace (the node agents'
// for theirs), which the operator's Prometheus must select; the platform's otherwise.
func targetNamespace(ns pulumi.StringInput, t ScrapeTarget) pulumi.StringInput {
	if t.Namespace != "" {
		return pulumi.String(t.Namespace)
	}
	return ns
}

// relabelings are a PodMonitor's: the job and component labels the bundled configuration sets,
// and a node agent's node.
func relabelings(t ScrapeTarget) pulumi.Array {
	out := pulumi.Array{
		pulumi.Map{"targetLabel": pulumi.String("job"), "replacement": pulumi.String(t.Job)},
		pulumi.Map{
			"sourceLabels": pulumi.StringArray{pulumi.String("__meta_kubernetes_pod_label_component")},
			"targetLabel":  pulumi.String("component"),
		},
	}
	if t.NodeLabel {
		out = append(out, pulumi.Map{
			"sourceLabels": pulumi.StringArray{pulumi.String("__meta_kubernetes_pod_node_name")},
			"targetLabel":  pulumi.String("node"),
		})
	}
	return out
}

// withTLS makes a PodMonitor endpoint of a TLS target scrape https, verifying the target's
// certificate name against the internal CA's bundle.
func withTLS(t ScrapeTarget, endpoint pulumi.Map) pulumi.Map {
	if t.ServerName == "" {
		return endpoint
	}
	endpoint["scheme"] = pulumi.String("https")
	endpoint["tlsConfig"] = pulumi.Map{
		"serverName": pulumi.String(t.ServerName),
		"ca":         pulumi.Map{"secret": pulumi.Map{"name": pulumi.String(tier.InternalTrustSecret), "key": pulumi.String("ca.crt")}},
	}
	return endpoint
}

// APIs are the APIs the monitoring tier declares objects of: the Prometheus
// Operator's, in operator mode.
func APIs(operator bool) []tier.ClusterAPI {
	if !operator {
		return nil
	}
	return []tier.ClusterAPI{
		{GroupVersion: monitoringAPIVersion, Resource: "podmonitors", Project: "the Prometheus Operator"},
		{GroupVersion: monitoringAPIVersion, Resource: "prometheusrules", Project: "the Prometheus Operator"},
	}
}
