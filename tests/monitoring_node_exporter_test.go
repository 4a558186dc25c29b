package tests

// The node panels and alerts query node-exporter's series by name: Debian's node-exporter
// (package prometheus-node-exporter) runs on loopback, and every node_* name the dashboards and
// the node alerts select is one it exports. A panel or rule naming a series node-exporter does
// not export (a typo, a collector off by default, a name changed between versions) fails here
// instead of showing "No data" on a cluster.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/monitoring"
)

// PromQL as the metric-name extractor reads it: string literals, label matchers, range
// selectors and the label lists of groupings and vector matching are dropped first, so what
// remains of an identifier is a metric, a function or aggregation (followed by "("), a keyword,
// or part of a number or duration (preceded by a digit).
var (
	promqlString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// promqlMetrics are the metric names expr selects, in order, each once.
func promqlMetrics(expr string) []string {
	e := promqlString.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRange.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, m := range promqlIdent.FindAllStringIndex(e, -1) {
		name := e[m[0]:m[1]]
		if m[0] > 0 && strings.ContainsRune("0123456789.", rune(e[m[0]-1])) {
			continue // 1e3, 5m
		}
		if strings.HasPrefix(strings.TrimLeft(e[m[1]:], " \t\n"), "(") || slices.Contains(promqlKeywords, name) {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// The extractor finds the metrics of the PromQL the generators write, and nothing else.
func TestPromQLMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[5m]))`: {"node_cpu_seconds_total"},
		`max by (node, mountpoint) (node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}) / max by (node, mountpoint) (node_filesystem_size_bytes{fstype!~"a{b}"})`: {
			"node_filesystem_avail_bytes", "node_filesystem_size_bytes"},
		`a / on (pod) group_left (node) b offset 5m > 1e3 and predict_linear(c[6h], 4 * 3600) < 0`:        {"a", "b", "c"},
		`sum(increase(x_total{k="node_fake"}[5m])) >= 10 unless count without (node_name) (up == bool 1)`: {"x_total", "up"},
	} {
		assert.Equal(t, want, promqlMetrics(expr), expr)
	}
}

// nodeExporterQueries are node-exporter's series the dashboards' node panels and the node
// alerts select, each with the first panel or alert that does.
func nodeExporterQueries(t *testing.T) map[string]string {
	t.Helper()
	where := map[string]string{}
	add := func(what, expr string) {
		for _, name := range promqlMetrics(expr) {
			if _, seen := where[name]; !seen && strings.HasPrefix(name, "node_") {
				where[name] = what
			}
		}
	}
	for _, d := range monitoring.DashboardsWith(profileSLO(config.Prod), monitoring.Sources{NodeExporter: true}) {
		for _, p := range d.Panels {
			if !p.PromQL() {
				continue
			}
			for _, q := range p.Queries {
				add(d.Title+" / "+p.Title, q.Expr)
			}
		}
	}
	for _, r := range monitoring.NodeAlertRules(config.DefaultNamespace, monitoring.NodeAgents{Namespace: config.DefaultNamespace + "-node", NodeExporter: true}) {
		add(r.Name, r.Expr)
	}
	// What the panels and alerts promise: CPU, memory, filesystems, load, network.
	for _, name := range []string{"node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
		"node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_load1", "node_network_receive_bytes_total"} {
		require.Contains(t, where, name, "no panel or alert queries %s", name)
	}
	return where
}

// exposedNames are the metric names of the samples of a text exposition.
func exposedNames(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			continue
		}
		out[line[:end]] = true
	}
	return out
}

func TestNodeExporterExportsWhatTheDashboardsAndAlertsQuery(t *testing.T) {
	bin, err := exec.LookPath("prometheus-node-exporter")
	if err != nil {
		if bin, err = exec.LookPath("node_exporter"); err != nil {
			t.Skip("node-exporter is not installed (Debian's prometheus-node-exporter)")
		}
	}
	queried := nodeExporterQueries(t)

	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	exited, log := start(t, exec.CommandContext(ctx, bin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port)))
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	var body string
	waitFor(t, "node-exporter's metrics", exited, log, func() bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		// The text format, whatever the exporter's default negotiation.
		req.Header.Set("Accept", "text/plain; version=0.0.4")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err == nil && resp.StatusCode == http.StatusOK && strings.Contains(body, "node_exporter_build_info")
	})
	exported := exposedNames(body)
	require.NotEmpty(t, exported)
	for name, what := range queried {
		assert.True(t, exported[name], "%s queries %s, which node-exporter (%s) does not export", what, name, bin)
	}
}
