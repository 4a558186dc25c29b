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
)

// TestNginxConf pins nginx.conf as the edge tier writes it, per environment (no entry point:
// the profiles' default, and no trusted proxy) and for prod behind an Ingress (TLS at the entry
// point, so HSTS; the controller's pods trusted). The
// per-client rate is the edge's requests-per-minute, and HSTS is sent exactly when the entry
// point terminates TLS.
func TestNginxConf(t *testing.T) {
	for _, c := range golden.EnvCases {
		t.Run(c.Name, func(t *testing.T) {
			s := golden.Settings(t, c.Env)
			e := s.Edge
			if c.Ingress {
				// An entry point needs its pods' addresses trusted (validation refuses it without).
				e.Entry, e.Hosts, e.TrustedProxies = config.EntryIngress, []string{"pynomaly.example.com"}, []string{"10.244.0.0/16"}
			}
			got := NginxConf(e, NginxSite{
				Upstream: fmt.Sprintf("%s.%s.svc:%d", app.APIServiceName, s.Namespace, app.APIPort),
				Port:     NginxPort, StatusPort: NginxStatusPort, TempDir: "/tmp", HSTS: e.TLSOn(),
			})
			golden.Compare(t, "nginx/"+c.Name+".conf", got)

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
