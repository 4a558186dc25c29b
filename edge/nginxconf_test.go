package edge

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/golden"
	"github.com/pynomaly/pynomaly-platform/monitoring"
)

// TestNginxConf pins nginx.conf as the edge tier writes it, per environment (no entry point:
// the profiles' default, and no trusted proxy) and for prod behind an Ingress (TLS at the entry
// point, so HSTS; the controller's pods trusted; Grafana at a host of its own). The
// per-client rate is the edge's requests-per-minute, HSTS is sent exactly when the entry
// point terminates TLS, and the limit is the API's alone: Grafana's server has none.
func TestNginxConf(t *testing.T) {
	for _, c := range golden.EnvCases {
		t.Run(c.Name, func(t *testing.T) {
			s := golden.Settings(t, c.Env)
			e := s.Edge
			site := NginxSite{
				Upstream: fmt.Sprintf("%s.%s.svc:%d", app.APIServiceName, s.Namespace, app.APIPort),
				Port:     NginxPort, StatusPort: NginxStatusPort, TempDir: "/tmp",
			}
			if c.Ingress {
				// An entry point needs its pods' addresses trusted (validation refuses it without).
				e.Entry, e.Hosts, e.TrustedProxies = config.EntryIngress, []string{"pynomaly.example.com"}, []string{"10.244.0.0/16"}
				site.GrafanaHost = "grafana.pynomaly.example.com"
				site.GrafanaUpstream = fmt.Sprintf("%s.%s.svc:%d", monitoring.GrafanaName, s.Namespace, monitoring.GrafanaPort)
			}
			site.HSTS = e.TLSOn()
			got := NginxConf(e, site)
			golden.Compare(t, "nginx/"+c.Name+".conf", got)
			checkGrafanaServer(t, got, site)

			m := regexp.MustCompile(`(?m)^\s*limit_req_zone \S+ zone=perclient:\S+ rate=(\d+)r/m;$`).FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("no per-minute limit_req_zone in\n%s", got)
			}
			if rate, _ := strconv.Atoi(m[1]); rate != e.RateLimit.RequestsPerMinute {
				t.Errorf("limit_req rate %d r/m, want the edge's %d", rate, e.RateLimit.RequestsPerMinute)
			}
			if hsts := strings.Contains(got, "Strict-Transport-Security"); hsts != e.TLSOn() {
				t.Errorf("HSTS sent: %v, entry point terminates TLS: %v", hsts, e.TLSOn())
			}
		})
	}
}

// checkGrafanaServer: with a Grafana host, a server of its own proxies it to Grafana without
// limit_req, passing the websocket upgrade on and keeping /metrics inside; without one, nothing
// of Grafana is in the file.
func checkGrafanaServer(t *testing.T, conf string, site NginxSite) {
	t.Helper()
	if site.GrafanaHost == "" {
		if strings.Contains(conf, "grafana") {
			t.Errorf("no Grafana host, yet Grafana is in\n%s", conf)
		}
		return
	}
	_, server, ok := strings.Cut(conf, "server_name "+site.GrafanaHost+";")
	if !ok {
		t.Fatalf("no server for %s in\n%s", site.GrafanaHost, conf)
	}
	server, _, _ = strings.Cut(server, "\n    }\n")
	for _, line := range []string{
		"proxy_pass http://pynomaly_grafana;",
		"proxy_set_header Upgrade $http_upgrade;",
		"proxy_set_header Connection $grafana_connection;",
		"location ^~ /metrics {",
	} {
		if !strings.Contains(server, line) {
			t.Errorf("Grafana's server lacks %q:\n%s", line, server)
		}
	}
	if strings.Contains(server, "limit_req") {
		t.Errorf("Grafana's server is rate limited:\n%s", server)
	}
	if !strings.Contains(conf, "server "+site.GrafanaUpstream+";") {
		t.Errorf("no upstream %s", site.GrafanaUpstream)
	}
}
