package monitoring

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/golden"
)

// TestRulesFile pins the rule file Prometheus loads, per environment (the WAL archiving alert
// only where archiving is on: prod's stack names a bucket), with the node agents' alerts
// (node-exporter and the log collector running), and without annotations, as the alert unit
// tests read it. Every rule is limited to the namespace, or to the node agents' for their
// series, and every rule's runbook_url is a page that exists under docs/runbooks.
func TestRulesFile(t *testing.T) {
	for _, c := range []struct {
		name        string
		annotations bool
		nodes       bool
	}{{"dev", true, false}, {"staging", true, false}, {"prod", true, false}, {"prod-labels-only", false, false}, {"prod-nodes", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			env, _, _ := strings.Cut(c.name, "-")
			s := golden.Settings(t, config.Environment(env))
			wal := s.Postgres.WALArchive.S3Bucket != ""
			nodeNS := s.Namespace + "-node"
			rules := AlertRules(s.Namespace, Database{WALArchiving: wal}, s.SLO)
			if c.nodes {
				rules = append(rules, NodeAlertRules(s.Namespace, NodeAgents{Namespace: nodeNS, NodeExporter: true, LogAlerts: true})...)
			}
			got := RulesFile(rules, c.annotations)
			golden.Compare(t, "rules/"+c.name+".yml", got)

			var f struct {
				Groups []struct {
					Rules []struct {
						Alert       string            `yaml:"alert"`
						Expr        string            `yaml:"expr"`
						Annotations map[string]string `yaml:"annotations"`
					} `yaml:"rules"`
				} `yaml:"groups"`
			}
			if err := yaml.Unmarshal([]byte(got), &f); err != nil {
				t.Fatal(err)
			}
			walRule := false
			for _, r := range f.Groups[0].Rules {
				walRule = walRule || r.Alert == walArchiveRule.Name
				scoped := strings.Contains(r.Expr, `namespace="`+s.Namespace+`"`) || strings.Contains(r.Expr, `namespace="`+nodeNS+`"`)
				if !scoped || strings.Contains(r.Expr, "{NS") || strings.Contains(r.Expr, "{NODE_NS") || strings.Contains(r.Expr, "PLATFORM_NS") {
					t.Errorf("%s: expression not limited to the namespace: %s", r.Alert, r.Expr)
				}
				if !c.annotations {
					continue
				}
				url := r.Annotations["runbook_url"]
				page, ok := strings.CutPrefix(url, RunbookBase)
				if _, err := os.Stat(filepath.Join("..", "docs", "runbooks", page)); !ok || page == "" || err != nil {
					t.Errorf("%s: runbook_url %q is not a page of docs/runbooks", r.Alert, url)
				}
			}
			if c.nodes && !strings.Contains(got, `k8s_namespace_name="`+s.Namespace+`"`) {
				t.Errorf("the authentication alert does not count the platform's lines")
			}
			if walRule != wal {
				t.Errorf("WAL archiving alert present: %v, archiving on: %v", walRule, wal)
			}
		})
	}
}

// Without a node agents' namespace there are no node agents' alerts; with one, the node alerts
// only where node-exporter runs and the authentication alert only where the collector does.
func TestNodeAlertRulesFollowTheAgents(t *testing.T) {
	names := func(n NodeAgents) []string {
		var out []string
		for _, r := range NodeAlertRules("ns", n) {
			out = append(out, r.Name)
		}
		return out
	}
	if got := names(NodeAgents{NodeExporter: true, LogAlerts: true}); len(got) != 0 {
		t.Errorf("rules without a namespace: %v", got)
	}
	for _, c := range []struct {
		n    NodeAgents
		want []string
	}{
		{NodeAgents{Namespace: "ns-node"}, []string{"PynomalyNodeAgentDown"}},
		{NodeAgents{Namespace: "ns-node", NodeExporter: true}, []string{"PynomalyNodeAgentDown", "PynomalyNodeFilesystemAlmostFull", "PynomalyNodeFilesystemFillingUp", "PynomalyNodeMemoryLow"}},
		{NodeAgents{Namespace: "ns-node", LogAlerts: true}, []string{"PynomalyNodeAgentDown", "PynomalyAuthenticationFailures"}},
	} {
		if got := names(c.n); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.n, got, c.want)
		}
	}
}
