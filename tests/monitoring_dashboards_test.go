package tests

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/monitoring"
)

// The seed's four dashboards, with the panels each promises, provisioned in every environment.
func TestDashboardsHaveThePanelsTheyPromise(t *testing.T) {
	want := map[string][]string{
		"pynomaly-api":            {"Request rate by status", "Latency percentiles", "Error rate (5xx)", "Mean response time"},
		"pynomaly-infrastructure": {"Nodes running the platform", "Pods by phase", "CPU by pod", "Memory by pod", "Volume usage"},
		"pynomaly-data-science":   {"Tasks processed by status", "Task duration p95 by task", "Queue depth", "InfluxDB writes"},
		"pynomaly-security":       {"Failed authentication (401, 403)", "Requests Nginx answered itself (rate limited, health)", "NetworkPolicy drops"},
	}
	for _, env := range envs {
		st := deploy(t, env, nil)
		data := st.One(t, configMapType, monitoring.GrafanaName+"-dashboards").StringMap(t, "data")
		assert.Contains(t, data["dashboards.yaml"], "path: /etc/grafana/provisioning/dashboards", env)
		assert.Len(t, data, len(want)+1, env)
		for uid, panels := range want {
			var d struct {
				UID    string `json:"uid"`
				Panels []struct {
					Title   string `json:"title"`
					Targets []struct {
						Expr string `json:"expr"`
					} `json:"targets"`
				} `json:"panels"`
			}
			require.NoError(t, json.Unmarshal([]byte(data[uid+".json"]), &d), "%s %s", env, uid)
			assert.Equal(t, uid, d.UID)
			var titles []string
			for _, p := range d.Panels {
				titles = append(titles, p.Title)
				assert.NotEmpty(t, p.Targets, "%s: %s has no query", uid, p.Title)
			}
			for _, p := range panels {
				assert.Contains(t, titles, p, "%s %s", env, uid)
			}
		}
	}
	g := deploy(t, "dev", nil).One(t, deploymentType, monitoring.GrafanaName)
	assert.Contains(t, sprintAll(g.Inputs), "/etc/grafana/provisioning/dashboards")
}

// Every PromQL expression of the dashboards parses, the node panels' included; the logs panel's
// LogsQL is the log store's, not Prometheus's.
func TestDashboardQueriesParse(t *testing.T) {
	var exprs []string
	for _, d := range monitoring.DashboardsWith(profileSLO(config.Prod), monitoring.Sources{NodeExporter: true, Logs: true}) {
		for _, p := range d.Panels {
			if !p.PromQL() {
				continue
			}
			for _, q := range p.Queries {
				exprs = append(exprs, q.Expr)
			}
		}
	}
	assertPromQLParses(t, exprs)
}

// assertPromQLParses has promtool check rules parse each expression as a recording rule
// (Debian's promtool, Prometheus 2.x's parser).
func assertPromQLParses(t *testing.T, exprs []string) {
	t.Helper()
	promtool := tool(t, "promtool")
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		rules = append(rules, rule{Record: fmt.Sprintf("parsed:expr_%d", i), Expr: e})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "parsed", "rules": rules}}})
	require.NoError(t, err)
	out, err := exec.Command(promtool, "check", "rules", writeFile(t, "exprs.yml", string(b))).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("SUCCESS: %d rules found", len(rules)))
}

// The sources add panels and take none away: the panels of the platform's own series are the
// same with node-exporter and the log store; the logs panel alone queries another datasource.
func TestDashboardSourcesOnlyAddPanels(t *testing.T) {
	plain := monitoring.Dashboards(profileSLO(config.Prod))
	all := monitoring.DashboardsWith(profileSLO(config.Prod), monitoring.Sources{NodeExporter: true, Logs: true})
	require.Len(t, all, len(plain))
	for i, d := range plain {
		assert.Equal(t, d.Panels, all[i].Panels[:len(d.Panels)], d.UID)
		for _, p := range all[i].Panels[len(d.Panels):] {
			assert.Equal(t, p.Logs, !p.PromQL(), "%s: %s", d.UID, p.Title)
		}
	}
}
