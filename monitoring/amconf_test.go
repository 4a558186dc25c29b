package monitoring

import (
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/golden"
)

// TestAlertmanagerConf pins alertmanager.yml where Alertmanager runs (staging, prod: dev's basic
// level has none) with the profiles' receivers (none), and in prod with every receiver and with
// PagerDuty alone. Every receiver a route names exists, and a critical alert pages first,
// without stopping there, whenever PagerDuty is configured.
func TestAlertmanagerConf(t *testing.T) {
	all := config.AlertReceivers{
		SecretName: "pynomaly-alert-receivers", SlackChannel: "#pynomaly-alerts", PagerDuty: true,
		Email: config.AlertEmail{To: "oncall@example.com", From: "alertmanager@example.com", Smarthost: "smtp.example.com:587", Username: "alertmanager"},
	}
	cases := []struct {
		name    string
		env     config.Environment
		r       *config.AlertReceivers
		webhook string
	}{
		{"staging", config.Staging, nil, ""},
		{"prod", config.Prod, nil, ""},
		{"prod-receivers", config.Prod, &all, "https://hooks.example.com/pynomaly"},
		{"prod-pager", config.Prod, &config.AlertReceivers{SecretName: "pynomaly-alert-receivers", PagerDuty: true}, ""},
	}
	type route struct {
		Receiver string   `yaml:"receiver"`
		Matchers []string `yaml:"matchers"`
		Continue bool     `yaml:"continue"`
		Routes   []route  `yaml:"routes"`
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := golden.Settings(t, c.env)
			if !s.Monitoring.Alerting() {
				t.Fatalf("%s runs no Alertmanager (monitoring %s)", c.env, s.Monitoring)
			}
			r := s.Alertmanager.Receivers
			if c.r != nil {
				r = *c.r
			}
			got := AlertmanagerConf(r, c.webhook)
			golden.Compare(t, "alertmanager/"+c.name+".yml", got)

			var conf struct {
				Route     route            `yaml:"route"`
				Receivers []map[string]any `yaml:"receivers"`
			}
			if err := yaml.Unmarshal([]byte(got), &conf); err != nil {
				t.Fatal(err)
			}
			var names []any
			for _, rc := range conf.Receivers {
				names = append(names, rc["name"])
			}
			for _, rt := range append([]route{conf.Route}, conf.Route.Routes...) {
				if !slices.Contains(names, any(rt.Receiver)) {
					t.Errorf("route to %q, an undefined receiver (receivers %v)", rt.Receiver, names)
				}
			}
			if r.PagerDuty {
				sub := conf.Route.Routes
				if len(sub) == 0 || sub[0].Receiver != "pager" || !slices.Equal(sub[0].Matchers, []string{"severity=" + SeverityCritical}) || !sub[0].Continue {
					t.Errorf("critical alerts are not routed to the pager first (and on): %+v", sub)
				}
			}
		})
	}
}
