package tests

// The monitoring tier with node agents (node-exporter and the log collector, in the node agents'
// namespace) and the bundled log store: Prometheus scrapes the agents there with read access to
// that namespace's pods only, loads their alerts, and Grafana shows the nodes and the platform's
// error lines. In operator mode the agents get PodMonitors in their own namespace.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/tier"
)

const (
	nodeNamespace = "pynomaly-data-science-node"
	logStoreURL   = "http://pynomaly-logs.pynomaly-data-science.svc:9428"
)

// nodeAgentWorkloads are the node agents as their plan describes them.
func nodeAgentWorkloads() []kube.Workload {
	return []kube.Workload{
		{Kind: "DaemonSet", Name: "pynomaly-node-exporter", Component: "node-exporter", Selector: kube.SelectorLabels("node-exporter"),
			Ports: map[string]int{"metrics": 9100}, Metrics: &kube.Metrics{Port: 9100, Path: "/metrics"}},
		{Kind: "DaemonSet", Name: "pynomaly-log-collector", Component: "log-collector", Selector: kube.SelectorLabels("log-collector"),
			Ports: map[string]int{"health": 13133, "metrics": 9464}, Metrics: &kube.Metrics{Port: 9464, Path: "/metrics"}},
	}
}

// monitoringWith runs the monitoring tier alone, of prod's settings, under mocks: with node
// agents, the log collector and the bundled log store when nodes is set, in operator mode when
// operator is. The node agents' Namespace object is declared first, for the tier to wait for.
func monitoringWith(t *testing.T, nodes, operator bool) *Stack {
	t.Helper()
	s := settings(t, "prod", nil)
	st := &Stack{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		args := &monitoring.Args{
			Context:     tier.Context{Namespace: pulumi.String(s.Namespace)},
			Environment: string(s.Environment), Level: s.Monitoring, Prometheus: s.Prometheus, Alertmanager: s.Alertmanager,
			Grafana: s.Grafana, Images: s.Images, Volumes: kube.Volumes{Class: pulumi.String("standard")},
			GrafanaSecret: pulumi.String("pynomaly-grafana"), InfluxDBURL: pulumi.String("http://pynomaly-influxdb:8086"),
			InfluxDBSecret: pulumi.String("pynomaly-influxdb"), SLO: s.SLO, Operator: operator,
		}
		if nodes {
			ns, err := newNamespace(ctx, nodeNamespace)
			if err != nil {
				return err
			}
			args.NodeNamespace, args.NodeWorkloads, args.NodeNamespaceReady = nodeNamespace, nodeAgentWorkloads(), []pulumi.Resource{ns}
			args.NodeExporter, args.LogAlerts, args.LogStoreURL = true, true, logStoreURL
		}
		_, err := monitoring.New(ctx, "monitoring", args)
		return err
	}, pulumi.WithMocks(project, "prod", &mocks{stack: st, stackName: "prod"}))
	require.NoError(t, err)
	return st
}

func newNamespace(ctx *pulumi.Context, name string) (pulumi.Resource, error) {
	var ns pulumi.CustomResourceState
	err := ctx.RegisterResource(namespaceType, name, pulumi.Map{"metadata": pulumi.Map{"name": pulumi.String(name)}}, &ns)
	return &ns, err
}

// Prometheus discovers the node agents' pods in their namespace, through a Role there that reads
// pods and nothing else, bound to its own ServiceAccount in the platform's namespace; both wait for
// that namespace, and Prometheus for the binding. Their jobs label each series with its node.
func TestPrometheusScrapesTheNodeAgentsInTheirNamespace(t *testing.T) {
	st := monitoringWith(t, true, false)
	ns := st.One(t, namespaceType, nodeNamespace)
	role := st.One(t, roleType, monitoring.PrometheusName+"-node-agents")
	assert.Equal(t, nodeNamespace, role.Str(t, "metadata.namespace"))
	assert.Equal(t, []string{"/pods/get,list,watch"}, rules(t, role))
	binding := st.One(t, roleBindingType, monitoring.PrometheusName+"-node-agents")
	assert.Equal(t, nodeNamespace, binding.Str(t, "metadata.namespace"))
	assert.Equal(t, "Role", binding.Str(t, "roleRef.kind"))
	assert.Equal(t, "ServiceAccount", binding.Str(t, "subjects.0.kind"))
	assert.Equal(t, monitoring.PrometheusName, binding.Str(t, "subjects.0.name"))
	assert.Equal(t, "pynomaly-data-science", binding.Str(t, "subjects.0.namespace"))
	assert.True(t, st.DependsOn(role, ns), "the Role waits for its namespace")
	assert.True(t, st.DependsOn(binding, ns), "the RoleBinding waits for its namespace")
	assert.True(t, st.DependsOn(st.One(t, statefulSetType, monitoring.PrometheusName), binding), "Prometheus starts with its rights")

	var conf promYAML
	require.NoError(t, yaml.Unmarshal([]byte(prometheusYAML(t, st)), &conf))
	jobs := map[string]int{}
	for i, j := range conf.ScrapeConfigs {
		jobs[j.JobName] = i
	}
	for _, w := range nodeAgentWorkloads() {
		i, ok := jobs[w.Name]
		require.True(t, ok, "no job for %s", w.Name)
		j := conf.ScrapeConfigs[i]
		assert.Equal(t, []string{nodeNamespace}, j.KubernetesSD[0].Namespaces.Names, w.Name)
		var sources []string
		for _, r := range j.RelabelConfigs {
			sources = append(sources, strings.Join(r.SourceLabels, ","))
		}
		assert.Contains(t, sources, "__meta_kubernetes_pod_node_name", "%s: its series carry their node", w.Name)
	}
	rulesFile := st.One(t, configMapType, monitoring.PrometheusName+"-rules").StringMap(t, "data")["pynomaly.yml"]
	for _, alert := range []string{"PynomalyNodeFilesystemAlmostFull", "PynomalyNodeFilesystemFillingUp", "PynomalyNodeMemoryLow",
		"PynomalyAuthenticationFailures", "PynomalyNodeAgentDown"} {
		assert.Contains(t, rulesFile, "alert: "+alert+"\n")
	}
	assert.Contains(t, rulesFile, `namespace="`+nodeNamespace+`"`)
}

// Without node agents the tier declares nothing in another namespace, loads none of their
// alerts, and Grafana has neither the logs datasource nor its plugin.
func TestMonitoringWithoutNodeAgents(t *testing.T) {
	st := monitoringWith(t, false, false)
	for _, r := range st.OfType(roleType) {
		assert.NotEqual(t, monitoring.PrometheusName+"-node-agents", r.Name)
	}
	for _, r := range st.Resources {
		if ns, ok := r.Get("metadata.namespace"); ok && ns.IsString() {
			assert.Equal(t, "pynomaly-data-science", ns.StringValue(), "%s %s", r.Type, r.Name)
		}
	}
	rulesFile := st.One(t, configMapType, monitoring.PrometheusName+"-rules").StringMap(t, "data")["pynomaly.yml"]
	assert.NotContains(t, rulesFile, "PynomalyNode")
	assert.NotContains(t, rulesFile, "PynomalyAuthenticationFailures")
	grafana := st.One(t, deploymentType, monitoring.GrafanaName)
	assert.NotContains(t, grafana.Env(t, grafana.Container(t, "spec.template.spec", "grafana")), "GF_PLUGINS_PREINSTALL")
	data := st.One(t, configMapType, monitoring.GrafanaName+"-datasources").StringMap(t, "data")
	assert.NotContains(t, data["datasources.yaml"], monitoring.LogsPlugin)
	dashboards := st.One(t, configMapType, monitoring.GrafanaName+"-dashboards").StringMap(t, "data")
	assert.NotContains(t, dashboards["pynomaly-infrastructure.json"], "node_cpu_seconds_total")
	assert.NotContains(t, dashboards["pynomaly-api.json"], `"logs"`)
}

// dashboardJSON is the part of a dashboard's model the tests read.
type dashboardJSON struct {
	Panels []struct {
		Type       string            `json:"type"`
		Title      string            `json:"title"`
		Datasource map[string]string `json:"datasource"`
		GridPos    map[string]int    `json:"gridPos"`
		Targets    []struct {
			Expr       string            `json:"expr"`
			QueryType  string            `json:"queryType"`
			Datasource map[string]string `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

// With the bundled log store Grafana provisions its datasource (VictoriaLogs, uid logs, at the
// store's URL), installs the pinned plugin at start, and the API dashboard lists the platform's
// error lines from it on a row of its own; with node-exporter the Infrastructure dashboard has
// the node panels.
func TestGrafanaShowsTheNodesAndTheLogs(t *testing.T) {
	st := monitoringWith(t, true, false)
	var provisioning struct {
		Datasources []struct {
			Name, Type, UID, URL, Access string
		} `yaml:"datasources"`
	}
	data := st.One(t, configMapType, monitoring.GrafanaName+"-datasources").StringMap(t, "data")
	require.NoError(t, yaml.Unmarshal([]byte(data["datasources.yaml"]), &provisioning))
	var types []string
	for _, d := range provisioning.Datasources {
		types = append(types, d.Type)
		if d.Type == monitoring.LogsPlugin {
			assert.Equal(t, "logs", d.UID)
			assert.Equal(t, logStoreURL, d.URL)
			assert.Equal(t, "proxy", d.Access)
		}
	}
	assert.Equal(t, []string{"prometheus", "influxdb", monitoring.LogsPlugin}, types)

	grafana := st.One(t, deploymentType, monitoring.GrafanaName)
	env := grafana.Env(t, grafana.Container(t, "spec.template.spec", "grafana"))
	assert.Equal(t, monitoring.LogsPlugin+"@"+monitoring.LogsPluginVersion, env["GF_PLUGINS_PREINSTALL"])
	assert.Regexp(t, `^\d+\.\d+\.\d+$`, monitoring.LogsPluginVersion, "a pinned version")

	dashboards := st.One(t, configMapType, monitoring.GrafanaName+"-dashboards").StringMap(t, "data")
	var infra, api dashboardJSON
	require.NoError(t, json.Unmarshal([]byte(dashboards["pynomaly-infrastructure.json"]), &infra))
	require.NoError(t, json.Unmarshal([]byte(dashboards["pynomaly-api.json"]), &api))
	var titles []string
	for _, p := range infra.Panels {
		titles = append(titles, p.Title)
		assert.Equal(t, "prometheus", p.Datasource["uid"], p.Title)
	}
	for _, want := range []string{"Node CPU busy", "Node memory available", "Node filesystem available", "Node load (1m) per CPU", "Node network traffic"} {
		assert.Contains(t, titles, want)
	}
	var logs int
	for _, p := range api.Panels {
		if p.Type != "logs" {
			assert.Equal(t, "prometheus", p.Datasource["uid"], p.Title)
			continue
		}
		logs++
		assert.Equal(t, map[string]string{"type": monitoring.LogsPlugin, "uid": "logs"}, p.Datasource)
		assert.Equal(t, 24, p.GridPos["w"], "a row of its own")
		assert.Equal(t, 0, p.GridPos["x"])
		require.Len(t, p.Targets, 1)
		assert.Equal(t, p.Datasource, p.Targets[0].Datasource)
		assert.Equal(t, "instant", p.Targets[0].QueryType, "raw lines, not statistics")
		assert.Contains(t, p.Targets[0].Expr, `{app="pynomaly"}`, "the platform's streams")
		assert.Contains(t, p.Targets[0].Expr, "i(error)")
	}
	assert.Equal(t, 1, logs, "one logs panel on the API dashboard")
	// No two panels overlap.
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, p := range api.Panels {
		for x := p.GridPos["x"]; x < p.GridPos["x"]+p.GridPos["w"]; x++ {
			for y := p.GridPos["y"]; y < p.GridPos["y"]+p.GridPos["h"]; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("%s overlaps %s", p.Title, other)
				}
				taken[cell{x, y}] = p.Title
			}
		}
	}
}

// In operator mode each node agent with metrics gets a PodMonitor in the node agents' namespace
// (which the cluster's Prometheus must select), after that namespace, labelling its series with
// their node; the PrometheusRule carries the node agents' alerts.
func TestOperatorModeMonitorsTheNodeAgents(t *testing.T) {
	st := monitoringWith(t, true, true)
	ns := st.One(t, namespaceType, nodeNamespace)
	for _, w := range nodeAgentWorkloads() {
		m := st.One(t, podMonitorType, w.Name)
		assert.Equal(t, nodeNamespace, m.Str(t, "metadata.namespace"), w.Name)
		assert.Equal(t, w.Selector, m.StringMap(t, "spec.selector.matchLabels"), w.Name)
		assert.Equal(t, "metrics", m.Str(t, "spec.podMetricsEndpoints.0.port"), w.Name)
		assert.True(t, st.DependsOn(m, ns), "%s: the PodMonitor waits for its namespace", w.Name)
		v, ok := m.Get("spec.podMetricsEndpoints.0.relabelings")
		require.True(t, ok)
		assert.Contains(t, sprintAll(v), "__meta_kubernetes_pod_node_name", w.Name)
	}
	for _, w := range st.OfType(podMonitorType) {
		if !strings.HasPrefix(w.Name, "pynomaly-node-exporter") && !strings.HasPrefix(w.Name, "pynomaly-log-collector") {
			assert.Equal(t, "pynomaly-data-science", w.Str(t, "metadata.namespace"), w.Name)
		}
	}
	v, ok := st.One(t, prometheusRuleType, "pynomaly").Get("spec")
	require.True(t, ok)
	assert.Contains(t, sprintAll(v), "PynomalyNodeFilesystemAlmostFull")
	assert.Contains(t, sprintAll(v), "PynomalyAuthenticationFailures")
	assert.Empty(t, st.OfType(roleType), "the operator's Prometheus has its own access")
}
