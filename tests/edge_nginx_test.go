package tests

// The generated nginx.conf is checked by Debian's nginx (scripts/test.sh installs it), run as an
// unprivileged user as in the pod: `nginx -t` for every profile and mode, and a real nginx in
// front of a stub API for the per-client limit. The generator is the pod's; only the site
// differs (loopback ports, a temporary folder, the stub as the upstream, since `nginx -t`
// resolves upstream names).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/edge"
)

// nginxSite writes the configuration of e for a local run of site (its upstreams and HSTS) into a
// folder the service user owns, on free ports, with an access log file (nginx.conf logs to
// /dev/stdout) the user may open.
func nginxSite(t *testing.T, e config.Edge, site edge.NginxSite) (conf string, port int, log *os.File) {
	t.Helper()
	dir := serviceDir(t)
	port = freePort(t)
	site.Port, site.StatusPort, site.TempDir = port, freePort(t), dir
	text := edge.NginxConf(e, site)
	conf = filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, []byte(text), 0o644))
	log, err := os.Create(filepath.Join(dir, "nginx.log"))
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	ownByServiceUser(t, dir, conf, log.Name())
	return conf, port, log
}

// ownByServiceUser gives paths to the user asServiceUser runs servers as, when tests run as root.
func ownByServiceUser(t *testing.T, paths ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	require.NoError(t, err)
	var uid, gid int
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	for _, p := range paths {
		require.NoError(t, os.Chown(p, uid, gid))
	}
}

func TestNginxAcceptsTheGeneratedConfiguration(t *testing.T) {
	bin := tool(t, "nginx", "/usr/sbin/nginx")
	for _, env := range envs {
		for _, mode := range []string{"none", "ingress", "gateway"} {
			t.Run(env+"/"+mode, func(t *testing.T) {
				c := cfg{}
				if mode != "none" {
					c = exposed(mode, "")
				}
				e := settings(t, env, c).Edge
				site := edge.NginxSite{Upstream: "127.0.0.1:8000", HSTS: e.TLSOn()}
				if mode != "none" {
					site.GrafanaHost, site.GrafanaUpstream = "grafana.pynomaly.example", "127.0.0.1:3000"
				}
				conf, _, log := nginxSite(t, e, site)
				cmd := asServiceUser(context.Background(), bin, "-e", "stderr", "-t", "-c", conf)
				cmd.Stdout, cmd.Stderr = log, log
				err := cmd.Run()
				out, _ := os.ReadFile(log.Name())
				require.NoError(t, err, "%s", out)
				assert.Contains(t, string(out), "test is successful")
				assert.NotContains(t, string(out), "[warn]", "nginx warns about the configuration")
			})
		}
	}
}

// stubAPI answers every request with 200 and a JSON body large enough to compress, and records
// the client address nginx passed on.
type stubAPI struct {
	*httptest.Server
	mu      sync.Mutex
	realIPs []string
}

func newStubAPI(t *testing.T) *stubAPI {
	s := &stubAPI{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.realIPs = append(s.realIPs, r.Header.Get("X-Real-IP"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"anomalies": [%s0]}`, strings.Repeat("0.5, ", 400))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stubAPI) lastRealIP() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.realIPs[len(s.realIPs)-1]
}

// runNginx starts the real nginx with e in front of the stub and returns its base URL. nginx
// stops when the test ends: its master, in a process group of its own with its workers, gets
// SIGTERM and stops the workers before it exits (startGroup); killing the master alone left the
// workers running.
func runNginx(t *testing.T, e config.Edge, api *stubAPI) string {
	t.Helper()
	return runNginxSite(t, e, edge.NginxSite{Upstream: strings.TrimPrefix(api.URL, "http://"), HSTS: true})
}

// runNginxSite starts the real nginx with e for site, as runNginx does.
func runNginxSite(t *testing.T, e config.Edge, site edge.NginxSite) string {
	t.Helper()
	conf, port, log := nginxSite(t, e, site)
	cmd := asServiceUser(context.Background(), tool(t, "nginx", "/usr/sbin/nginx"), "-e", "stderr", "-c", conf)
	cmd.Stdout, cmd.Stderr = log, log
	exited := startGroup(t, cmd)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "nginx to answer /health", exited, fileText(log.Name()), func() bool {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return base
}

// fileText shows a log file's contents when printed.
type fileText string

func (f fileText) String() string { b, _ := os.ReadFile(string(f)); return string(b) }

// burst sends n requests to path as fast as one client does, naming client in X-Forwarded-For
// ("" sends none), and counts the answers by status.
func burst(t *testing.T, base, path, client string, n int) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for range n {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if client != "" {
			req.Header.Set("X-Forwarded-For", client)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		counts[resp.StatusCode]++
	}
	return counts
}

// The seed's limit, 100 requests a minute per client address and a burst of 20, enforced by a
// real nginx. Clients are told apart by X-Forwarded-For from a trusted peer (the loopback here,
// the entry point's pods in the cluster).
func TestNginxLimitsEachClient(t *testing.T) {
	api := newStubAPI(t)
	e := settings(t, "prod", cfg{"edge": `{"trustedProxies": ["127.0.0.1/32"]}`}).Edge
	e.WorkerProcesses = 1 // one worker, so every request meets the same zone counters
	base := runNginx(t, e, api)
	rl := e.RateLimit
	require.Equal(t, config.RateLimit{RequestsPerMinute: 100, Burst: 20}, rl, "the seed's budget")

	start := time.Now()
	n := rl.RequestsPerMinute + rl.Burst + 30
	a := burst(t, base, "/api/v1/detect", "203.0.113.10", n)
	elapsed := time.Since(start)
	// Allowed: the request that meets an empty bucket, the burst, and what drips in meanwhile.
	allowed := 1 + rl.Burst + int(elapsed.Minutes()*float64(rl.RequestsPerMinute)) + 1
	t.Logf("client A: %d requests in %v: %d answered, %d refused with 429 (at most %d allowed)", n, elapsed.Round(time.Millisecond), a[200], a[429], allowed)
	assert.GreaterOrEqual(t, a[200], 1+rl.Burst, "the burst is served at once")
	assert.LessOrEqual(t, a[200], allowed, "past 100 a minute plus the burst")
	assert.Equal(t, n, a[200]+a[429], "every other answer is 429: %v", a)
	assert.Equal(t, "203.0.113.10", api.lastRealIP(), "the API sees the client, not the proxy")

	health := burst(t, base, "/health", "203.0.113.10", 200)
	assert.Equal(t, map[int]int{200: 200}, health, "/health is never limited, even for a client past its budget")

	b := burst(t, base, "/api/v1/detect", "203.0.113.20", 1+rl.Burst)
	assert.Equal(t, map[int]int{200: 1 + rl.Burst}, b, "another client has a budget of its own")
	assert.Equal(t, map[int]int{429: 1}, burst(t, base, "/api/v1/detect", "203.0.113.10", 1), "client A is still limited")

	// A forwarding header through a trusted proxy chain: the last untrusted address counts.
	c := burst(t, base, "/api/v1/detect", "198.51.100.7, 127.0.0.1", 1)
	assert.Equal(t, 1, c[200])
	assert.Equal(t, "198.51.100.7", api.lastRealIP())

	checkResponseHeaders(t, base)
}

// checkResponseHeaders: security headers on answers and refusals alike, HSTS behind TLS, and
// compressed JSON.
func checkResponseHeaders(t *testing.T, base string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/detect", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", "192.0.2.99")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), "JSON is compressed")
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Strict-Transport-Security"} {
		assert.NotEmpty(t, resp.Header.Get(h), h)
	}
	assert.Equal(t, "nginx", resp.Header.Get("Server"), "no version in the Server header")

	req.Header.Set("X-Forwarded-For", "203.0.113.10")
	resp, err = http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), "a refusal carries the headers too")
}

// A forwarding header from a peer outside trustedProxies is ignored: the peer is the client,
// whatever address it claims, so it cannot get a fresh budget by changing the header.
func TestNginxIgnoresForwardingFromUntrustedPeers(t *testing.T) {
	api := newStubAPI(t)
	e := settings(t, "dev", nil).Edge // trusts no proxy (the default), so not the loopback
	require.NotContains(t, e.TrustedProxies, "127.0.0.1/32")
	base := runNginx(t, e, api)
	n := e.RateLimit.RequestsPerMinute + e.RateLimit.Burst
	a := burst(t, base, "/api/v1/detect", "203.0.113.10", n)
	assert.Positive(t, a[429], "the peer's own budget runs out: %v", a)
	assert.Equal(t, "127.0.0.1", api.lastRealIP(), "the API sees the peer, not the claimed client")
	b := burst(t, base, "/api/v1/detect", "203.0.113.20", 5)
	assert.Equal(t, map[int]int{429: 5}, b, "claiming another address gets no fresh budget")
	assert.Equal(t, map[int]int{200: 1}, burst(t, base, "/health", "203.0.113.30", 1), "/health still answers")
}

// The API's metrics are Prometheus's, scraped from its pods: the edge never serves them, while
// every API path still reaches the API.
func TestNginxKeepsTheAPIsMetricsInside(t *testing.T) {
	api := newStubAPI(t)
	base := runNginx(t, settings(t, "prod", nil).Edge, api)
	seen := func() int { api.mu.Lock(); defer api.mu.Unlock(); return len(api.realIPs) }
	before := seen()
	for _, path := range []string{"/metrics", "/metrics/", "/metrics?name[]=up"} {
		assert.Equal(t, map[int]int{404: 1}, burst(t, base, path, "203.0.113.40", 1), "%s through the edge", path)
	}
	assert.Equal(t, before, seen(), "no /metrics request reached the API")
	assert.Equal(t, map[int]int{200: 1}, burst(t, base, "/api/v1/metrics-of-a-model", "203.0.113.40", 1), "API paths still reach the API")
}

// stubGrafana stands in for Grafana: it records the host and client address of each request
// nginx passes on and answers 200 with Grafana's own copy of X-Frame-Options; a websocket
// upgrade (Grafana Live's /api/live/ws) it accepts with 101 and then echoes what it reads.
type stubGrafana struct {
	*httptest.Server
	mu      sync.Mutex
	hosts   []string
	realIPs []string
}

func newStubGrafana(t *testing.T) *stubGrafana {
	g := &stubGrafana{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.hosts = append(g.hosts, r.Host)
		g.realIPs = append(g.realIPs, r.Header.Get("X-Real-IP"))
		g.mu.Unlock()
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprint(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			io.Copy(conn, rw) // echo until the client closes
			return
		}
		w.Header().Set("X-Frame-Options", "deny")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"database": "ok"}`)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *stubGrafana) seen() (n int, lastHost, lastRealIP string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.hosts) == 0 {
		return 0, "", ""
	}
	return len(g.hosts), g.hosts[len(g.hosts)-1], g.realIPs[len(g.realIPs)-1]
}

// hostBurst sends n requests for path naming host, from client (X-Forwarded-For), and counts the
// answers by status.
func hostBurst(t *testing.T, base, host, path, client string, n int) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for range n {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		req.Host = host
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		counts[resp.StatusCode]++
	}
	return counts
}

// Grafana's host (grafana.host) through a real nginx: its requests reach Grafana (a stand-in),
// never the API, and the seed's per-client budget is the API's alone: a client past it at the
// API is still served at Grafana's host, at a multiple of the budget. Grafana sees the client's
// address and its own host; its /metrics stays inside; Grafana Live's websocket upgrade goes
// through; the answers carry Nginx's security headers, one copy each.
func TestNginxServesGrafanaWithoutTheLimit(t *testing.T) {
	const host = "grafana.pynomaly.example"
	api, grafana := newStubAPI(t), newStubGrafana(t)
	e := settings(t, "prod", cfg{"edge": `{"trustedProxies": ["127.0.0.1/32"]}`}).Edge
	e.WorkerProcesses = 1 // one worker, so every request meets the same zone counters
	base := runNginxSite(t, e, edge.NginxSite{
		Upstream: strings.TrimPrefix(api.URL, "http://"), HSTS: true,
		GrafanaHost: host, GrafanaUpstream: strings.TrimPrefix(grafana.URL, "http://"),
	})
	rl := e.RateLimit

	// Client A spends its budget at the API, and then some.
	a := burst(t, base, "/api/v1/detect", "203.0.113.10", rl.RequestsPerMinute+rl.Burst+30)
	require.Positive(t, a[429], "client A is past its budget at the API: %v", a)
	require.Equal(t, map[int]int{429: 1}, burst(t, base, "/api/v1/detect", "203.0.113.10", 1))

	apiSeen := func() int { api.mu.Lock(); defer api.mu.Unlock(); return len(api.realIPs) }
	before := apiSeen()
	n := 3 * (rl.RequestsPerMinute + rl.Burst)
	start := time.Now()
	g := hostBurst(t, base, host, "/api/dashboards/uid/pynomaly-api", "203.0.113.10", n)
	t.Logf("client A at Grafana's host: %d requests in %v: %v", n, time.Since(start).Round(time.Millisecond), g)
	assert.Equal(t, map[int]int{200: n}, g, "Grafana's host is never rate limited")
	assert.Equal(t, before, apiSeen(), "no request for Grafana's host reached the API")
	count, seenHost, realIP := grafana.seen()
	assert.Equal(t, n, count)
	assert.Equal(t, host, seenHost, "Grafana sees its public host")
	assert.Equal(t, "203.0.113.10", realIP, "Grafana sees the client, not the proxy")
	assert.Equal(t, map[int]int{429: 1}, burst(t, base, "/api/v1/detect", "203.0.113.10", 1), "client A is still limited at the API")

	for _, path := range []string{"/metrics", "/metrics/plugins/grafana-piechart-panel"} {
		assert.Equal(t, map[int]int{404: 1}, hostBurst(t, base, host, path, "203.0.113.40", 1), "%s through the edge", path)
	}
	count2, _, _ := grafana.seen()
	assert.Equal(t, count, count2, "no /metrics request reached Grafana")

	req, err := http.NewRequest(http.MethodGet, base+"/login", nil)
	require.NoError(t, err)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, []string{"DENY"}, resp.Header.Values("X-Frame-Options"), "Nginx's copy alone")
	assert.Equal(t, []string{"nosniff"}, resp.Header.Values("X-Content-Type-Options"))
	assert.NotEmpty(t, resp.Header.Get("Strict-Transport-Security"))

	checkGrafanaLive(t, base, host)
}

// checkGrafanaLive opens Grafana Live's websocket through nginx: the upgrade reaches Grafana,
// its 101 comes back, and bytes then flow both ways on the connection.
func checkGrafanaLive(t *testing.T, base, host string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	fmt.Fprintf(conn, "GET /api/live/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", host)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "the upgrade reaches Grafana")
	assert.Equal(t, "websocket", strings.ToLower(resp.Header.Get("Upgrade")))
	_, err = conn.Write([]byte("ping"))
	require.NoError(t, err)
	echo := make([]byte, 4)
	_, err = io.ReadFull(r, echo)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(echo), "the upgraded connection carries Grafana Live's frames")
}
