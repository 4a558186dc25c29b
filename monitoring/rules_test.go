package monitoring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/golden"
)

// TestRulesFile pins the rule file Prometheus loads, per environment (the WAL archiving alert
// only where archiving is on: prod's stack names a bucket) and without annotations, as the
// alert unit tests read it. Every rule is limited to the namespace, and every rule's runbook_url
// is a page that exists under docs/runbooks.
func TestRulesFile(t *testing.T) {
	for _, c := range []struct {
		name        string
		annotations bool
	}{{"dev", true}, {"staging", true}, {"prod", true}, {"prod-labels-only", false}} {
		t.Run(c.name, func(t *testing.T) {
			env, _, _ := strings.Cut(c.name, "-")
			s := golden.Settings(t, config.Environment(env))
			wal := s.Postgres.WALArchive.S3Bucket != ""
			got := RulesFile(AlertRules(s.Namespace, Database{WALArchiving: wal}, s.SLO), c.annotations)
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
				if !strings.Contains(r.Expr, `namespace="`+s.Namespace+`"`) || strings.Contains(r.Expr, "{NS") {
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
			if walRule != wal {
				t.Errorf("WAL archiving alert present: %v, archiving on: %v", walRule, wal)
			}
		})
	}
}
