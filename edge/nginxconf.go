package edge

import (
	"fmt"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// NginxSite is where the generated nginx.conf listens, proxies to and keeps its files. A pod's
// site is edgeSite; the tests point it at a stub upstream, free ports and a temporary folder,
// and the generator stays the same.
type NginxSite struct {
	// Upstream is the API's host:port. nginx resolves the name when it loads the file.
	Upstream string
	// Port serves the API and /health; StatusPort serves stub_status on loopback only.
	Port, StatusPort int
	// TempDir holds the pid file and the request and response buffers: the root is read-only.
	TempDir string
	// HSTS tells browsers to keep to https: the entry point terminates TLS.
	HSTS bool
	// GrafanaHost is served from GrafanaUpstream (Grafana's host:port), without the per-client
	// limit; empty: no Grafana.
	GrafanaHost, GrafanaUpstream string
}

// NginxUpstreamKeepalive is how many idle connections to the API each worker keeps: its share
// of concurrentRequests, so a steady load at that concurrency reuses connections instead of
// opening one per request.
func NginxUpstreamKeepalive(e config.Edge) int {
	workers := max(e.Replicas*e.WorkerProcesses, 1)
	return (e.ConcurrentRequests + workers - 1) / workers
}

// NginxOpenFiles is each worker's file descriptor limit: two per connection (a proxied request
// holds the client's and the API's), so the worker runs out of connections, never of files.
func NginxOpenFiles(e config.Edge) int { return 2 * e.WorkerConnections }

// NginxRate is the limit_req rate of a per-minute budget.
func NginxRate(r config.RateLimit) string { return fmt.Sprintf("%dr/m", r.RequestsPerMinute) }

// NginxConf is the edge's nginx.conf, from its settings.
func NginxConf(e config.Edge, site NginxSite) string {
	return tier.Fill(nginxTemplate, struct {
		E         config.Edge
		S         NginxSite
		Keepalive int
		OpenFiles int
		Rate      string
	}{e, site, NginxUpstreamKeepalive(e), NginxOpenFiles(e), NginxRate(e.RateLimit)})
}

// The configuration, section by section. Why each choice:
//   - the client address comes from X-Forwarded-For only when the peer is a trusted proxy
//     (real_ip_recursive: the last address not a trusted proxy's), so a client cannot pick its
//     own rate limit budget;
//   - the limit applies in the proxied location only: /health answers probes with `return`,
//     which runs before limit_req, and is never limited;
//   - upstream keepalive with HTTP/1.1 and an empty Connection header; keepalive_time recycles
//     each connection after a minute, so API pods added by the autoscaler get their share;
//   - security headers with `always`, so error pages (a 429 too) carry them, on every server;
//   - Grafana's host (grafana.host) is a server of its own: no limit_req (a dashboard asks for
//     every panel at once, and again at each refresh; Grafana's login guards it), the websocket
//     upgrade of Grafana Live passed on, its /metrics kept inside as the API's are, and its own
//     copies of the security headers dropped for Nginx's.
var nginxTemplate = assets.ConfigTemplate("nginx.conf.tmpl")
