package monitoring

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/golden"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// TestPrometheusConf pins prometheus.yml as the bundled monitoring tier writes it, per
// environment and for prod behind an Ingress (cert-manager's metrics scraped). Its targets are
// InfluxDB's (over TLS where internal TLS is on) and the monitoring tier's own pods, from its
// plan, as New has them. Job names are unique (Prometheus refuses duplicates)
// and every Alertmanager member gets the alerts where the level runs Alertmanager.
func TestPrometheusConf(t *testing.T) {
	for _, c := range golden.EnvCases {
		t.Run(c.Name, func(t *testing.T) {
			s := golden.Settings(t, c.Env)
			args := &Args{
				Environment: string(s.Environment), Level: s.Monitoring, Prometheus: s.Prometheus,
				Alertmanager: s.Alertmanager, Grafana: s.Grafana, Images: s.Images,
				Context: tier.Context{TLS: s.TLS.Internal},
			}
			influx := influxdb.Pod(&influxdb.Args{Settings: s.InfluxDB, Image: s.Images.InfluxDB, Context: tier.Context{TLS: s.TLS.Internal}})
			args.Workloads = []kube.Workload{{
				Name: influxdb.ServiceName, Selector: influx.Selector(), Ports: map[string]int{"http": influxdb.Port}, Metrics: influx.Metrics,
			}}
			targets, err := scrapeJobs(args)
			require.NoError(t, err)
			site := PrometheusSite{
				Namespace: s.Namespace, Targets: targets, Kubelets: true, Environment: string(s.Environment),
				RuleFiles: []string{prometheusRulesDir + "/*.yml"},
			}
			if c.Ingress {
				site.CertManager = CertManagerMetrics
			}
			if s.Monitoring.Alerting() {
				site.Alertmanagers = alertmanagerPeers(s.Alertmanager.Replicas, s.Namespace, AlertmanagerPort)
			}
			got := PrometheusConf(site)
			golden.Compare(t, "prometheus/"+c.Name+".yml", got)

			var conf struct {
				Alerting struct {
					Alertmanagers []struct {
						StaticConfigs []struct {
							Targets []string `yaml:"targets"`
						} `yaml:"static_configs"`
					} `yaml:"alertmanagers"`
				} `yaml:"alerting"`
				ScrapeConfigs []struct {
					JobName string `yaml:"job_name"`
				} `yaml:"scrape_configs"`
			}
			if err := yaml.Unmarshal([]byte(got), &conf); err != nil {
				t.Fatal(err)
			}
			var jobs []string
			for _, sc := range conf.ScrapeConfigs {
				if slices.Contains(jobs, sc.JobName) {
					t.Errorf("job %q twice", sc.JobName)
				}
				jobs = append(jobs, sc.JobName)
			}
			var members []string
			for _, am := range conf.Alerting.Alertmanagers {
				for _, sc := range am.StaticConfigs {
					members = append(members, sc.Targets...)
				}
			}
			want := 0
			if s.Monitoring.Alerting() {
				want = s.Alertmanager.Replicas
			}
			if len(members) != want {
				t.Errorf("alerts go to %d Alertmanagers %v, want %d", len(members), members, want)
			}
		})
	}
}

// nodeWorkloads are the node agents as their plan describes them: node-exporter and the log
// collector, each with its metrics port.
func nodeWorkloads() []kube.Workload {
	return []kube.Workload{
		{Kind: "DaemonSet", Name: "pynomaly-node-exporter", Component: "node-exporter", Selector: kube.SelectorLabels("node-exporter"),
			Ports: map[string]int{"metrics": 9100}, Metrics: &kube.Metrics{Port: 9100, Path: "/metrics"}},
		{Kind: "DaemonSet", Name: "pynomaly-log-collector", Component: "log-collector", Selector: kube.SelectorLabels("log-collector"),
			Ports: map[string]int{"health": 13133, "metrics": 9464}, Metrics: &kube.Metrics{Port: 9464, Path: "/metrics"}},
	}
}

// TestPrometheusConfWithNodeAgents pins prod's prometheus.yml with node agents: their jobs
// discover their pods in the node agents' namespace (and there only), label each series with its
// node, and the kubelets' series of that namespace's containers are kept with the platform's.
func TestPrometheusConfWithNodeAgents(t *testing.T) {
	s := golden.Settings(t, "prod")
	nodeNS := s.Namespace + "-node"
	args := &Args{
		Environment: string(s.Environment), Level: s.Monitoring, Prometheus: s.Prometheus,
		Alertmanager: s.Alertmanager, Grafana: s.Grafana, Images: s.Images,
		NodeNamespace: nodeNS, NodeWorkloads: nodeWorkloads(), NodeExporter: true, LogAlerts: true,
	}
	targets, err := scrapeJobs(args)
	require.NoError(t, err)
	got := PrometheusConf(PrometheusSite{
		Namespace: s.Namespace, NodeNamespace: nodeNS, Targets: targets, Kubelets: true, Environment: string(s.Environment),
		RuleFiles: []string{prometheusRulesDir + "/*.yml"},
	})
	golden.Compare(t, "prometheus/prod-nodes.yml", got)

	var conf struct {
		ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(got), &conf))
	jobs := map[string]scrapeConfig{}
	for _, j := range conf.ScrapeConfigs {
		jobs[j.JobName] = j
	}
	nodeLabel := relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_node_name"}, TargetLabel: "node"}
	for _, w := range nodeWorkloads() {
		j, ok := jobs[w.Name]
		require.True(t, ok, "no job for %s", w.Name)
		require.Len(t, j.KubernetesSD, 1)
		require.Equal(t, []string{nodeNS}, j.KubernetesSD[0].Namespaces.Names, w.Name)
		require.Contains(t, j.RelabelConfigs, nodeLabel, w.Name)
	}
	for _, name := range []string{"pynomaly-prometheus", "pynomaly-grafana"} {
		require.Equal(t, []string{s.Namespace}, jobs[name].KubernetesSD[0].Namespaces.Names, name)
		require.NotContains(t, jobs[name].RelabelConfigs, nodeLabel, name)
	}
	require.Equal(t, s.Namespace+"|"+nodeNS, jobs["cadvisor"].MetricRelabeling[0].Regex)
}

// Node agents' jobs or alerts without their namespace are refused.
func TestNodeAgentsNeedTheirNamespace(t *testing.T) {
	require.Error(t, (&Args{NodeExporter: true}).checkNodeAgents())
	require.Error(t, (&Args{NodeWorkloads: nodeWorkloads()}).checkNodeAgents())
	require.NoError(t, (&Args{}).checkNodeAgents())
	require.NoError(t, (&Args{NodeNamespace: "ns-node", NodeWorkloads: nodeWorkloads(), NodeExporter: true}).checkNodeAgents())
}
