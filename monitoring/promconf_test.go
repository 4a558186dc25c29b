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
