//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/logging"
	"github.com/pynomaly/pynomaly-platform/monitoring"
)

// logTestNamespace is the platform namespace of the log pipeline's test: a pod the API server
// knows, whose log the kubelet would write.
const logTestNamespace = "pynomaly-logs-e2e"

// The log pipeline of a node, with its real processes: the collector and VictoriaLogs, built from
// their Go modules at the images' releases, run with the configuration and flags the program
// generates, the collector reading the pod's labels from the local API server. A line written to
// the kubelet's file of a pod comes back from the store with every label, parsed from the CRI
// format (a split line joined); the failed authentications the collector counts from the edge's
// access log, scraped from its metrics, make the alert rule fire on thirteen and stay silent on
// one, as promtool evaluates it.
func TestLogPipelineShipsLabelledLines(t *testing.T) {
	otelcol, vlogs, promtool := lookTool(t, "otelcol"), lookTool(t, "victoria-logs"), lookTool(t, "promtool")
	uid := edgePod(t)
	dir := t.TempDir()
	podDir := filepath.Join(dir, "pods", fmt.Sprintf("%s_%s_%s", logTestNamespace, "pynomaly-nginx-e2e", uid), "nginx")
	require.NoError(t, os.MkdirAll(podDir, 0o755))
	logFile := filepath.Join(podDir, "0.log")
	// A line the pod wrote before the collector started (a node's boot): read all the same.
	needle := fmt.Sprintf("pipeline-check-%d", time.Now().UnixNano())
	now := time.Now().UTC().Format(time.RFC3339Nano)
	require.NoError(t, os.WriteFile(logFile, []byte(now+" stdout F "+needle+" one line\n"), 0o644))

	storePort := localPort(t)
	flags, err := logging.StoreFlags("1d", "1Gi", fmt.Sprintf("127.0.0.1:%d", storePort), filepath.Join(dir, "store"))
	require.NoError(t, err)
	store := startProcess(t, "victoria-logs", filepath.Join(dir, "store.log"), exec.Command(vlogs, flags...))
	storeURL := fmt.Sprintf("http://127.0.0.1:%d", storePort)
	waitFor(t, "the store's health", store, func() bool { return httpOK(storeURL + "/health") })

	c := logging.Collector{Namespace: logTestNamespace, LogRoot: filepath.Join(dir, "pods"), StorageDir: filepath.Join(dir, "collector"),
		KubeAuth: "kubeConfig", Listen: "127.0.0.1", HealthPort: localPort(t), MetricsPort: localPort(t), EdgeComponent: edge.Component,
		Export: logging.Export{LogsURL: storeURL + logging.StoreLogsPath, StreamFields: logging.StreamFields()}}
	conf := filepath.Join(dir, "collector.yaml")
	require.NoError(t, os.WriteFile(conf, []byte(c.Config()), 0o644))
	cmd := exec.Command(otelcol, "--config="+conf)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	collector := startProcess(t, "otelcol", filepath.Join(dir, "collector.log"), cmd)
	appendLines(t, logFile,
		now+" stderr P "+needle+" split ",
		now+" stderr F in two")
	var lines []map[string]string
	waitFor(t, "the lines in the store", collector, func() bool {
		lines = query(t, storeURL, needle)
		return len(lines) == 2
	})
	for _, l := range lines {
		assert.Equal(t, logTestNamespace, l["k8s.namespace.name"])
		assert.Equal(t, "pynomaly-nginx-e2e", l["k8s.pod.name"])
		assert.Equal(t, uid, l["k8s.pod.uid"])
		assert.Equal(t, "nginx", l["k8s.container.name"])
		assert.Equal(t, "pynomaly", l["app"], "the pod's app label, from the API server")
		assert.Equal(t, edge.Component, l["component"], "the pod's component label, from the API server")
		for _, label := range logging.Labels {
			assert.Contains(t, l["_stream"], label+"=", "a stream field")
		}
		switch l["log.iostream"] {
		case "stdout":
			assert.Equal(t, needle+" one line", l["_msg"])
		case "stderr":
			assert.Equal(t, needle+" splitin two", l["_msg"], "the runtime's partial lines, joined (CRI keeps no separator)")
		default:
			assert.Fail(t, "a line of no stream", "%v", l)
		}
	}

	// Failed authentications: one, then one more, then eleven more.
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", c.MetricsPort)
	counts := []float64{}
	for _, n := range []int{1, 1, 11} {
		var add []string
		for range n {
			add = append(add, time.Now().UTC().Format(time.RFC3339Nano)+
				` stdout F 203.0.113.9 [07/Dec/2026:10:00:00 +0000] "POST /api/v1/auth/login HTTP/1.1" 401 0 0.002 0.002 "curl/8"`)
		}
		appendLines(t, logFile, add...)
		want := n
		if len(counts) > 0 {
			want += int(counts[len(counts)-1])
		}
		var got float64
		waitFor(t, fmt.Sprintf("%d failures counted", want), collector, func() bool {
			if now := authFailures(t, metrics); now != got {
				got = now
				t.Logf("the collector counts %v failures", got)
			}
			return got == float64(want)
		})
		counts = append(counts, got)
	}
	alertFiresOnlyOnRepeatedFailures(t, promtool, counts)
}

// alertFiresOnlyOnRepeatedFailures runs the platform's alert rule over the collector's counts as
// Prometheus would have scraped them a minute apart: counts[0] to counts[1] (one failure) must
// stay silent, counts[1] to counts[2] (eleven) must fire.
func alertFiresOnlyOnRepeatedFailures(t *testing.T, promtool string, counts []float64) {
	rules := monitoring.NodeAlertRules(logTestNamespace, monitoring.NodeAgents{Namespace: logTestNamespace + "-node", LogAlerts: true})
	var auth []monitoring.AlertRule
	for _, r := range rules {
		if strings.Contains(r.Expr, logging.AuthFailuresMetric) {
			auth = append(auth, r)
		}
	}
	require.Len(t, auth, 1)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(monitoring.RulesFile(auth, false)), 0o644))
	test := func(from, to float64, firing bool) string {
		exp := "[]"
		if firing {
			exp = fmt.Sprintf(`[{exp_labels: {severity: %s}}]`, auth[0].Severity)
		}
		return fmt.Sprintf(`rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: '%s{namespace="%s-node",k8s_namespace_name="%s",pod="c"}'
        values: "%v %v %v %v %v %v"
    alert_rule_test:
      - eval_time: 4m
        alertname: %s
        exp_alerts: %s
`, logging.AuthFailuresMetric, logTestNamespace, logTestNamespace, from, to, to, to, to, to, auth[0].Name, exp)
	}
	for name, spec := range map[string]string{
		"one failure":     test(counts[0], counts[1], false),
		"eleven failures": test(counts[1], counts[2], true),
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
		require.NoError(t, os.WriteFile(file, []byte(spec), 0o644))
		cmd := exec.Command(promtool, "test", "rules", filepath.Base(file))
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: %s", name, out)
	}
	t.Logf("failed authentications counted by the collector: %v; the alert stays silent on one and fires on %v",
		counts, counts[2]-counts[1])
}

// edgePod declares a pod of the edge's component in the test's namespace and returns its uid.
func edgePod(t *testing.T) string {
	mustKubectl(t, "create", "namespace", logTestNamespace)
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "namespace", logTestNamespace, "--timeout=60s") })
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pynomaly-nginx-e2e","namespace":"` + logTestNamespace +
		`","labels":{"app":"pynomaly","component":"` + edge.Component + `"}},"spec":{"containers":[{"name":"nginx","image":"nginx"}]}}`
	file := filepath.Join(t.TempDir(), "pod.json")
	require.NoError(t, os.WriteFile(file, []byte(pod), 0o644))
	mustKubectl(t, "create", "-f", file)
	return mustKubectl(t, "-n", logTestNamespace, "get", "pod", "pynomaly-nginx-e2e", "-o", "jsonpath={.metadata.uid}")
}

// waitFor polls check until it holds, failing with p's log if p exits or 30 s pass.
func waitFor(t *testing.T, what string, p *process, check func() bool) {
	t.Helper()
	_, ok := eventually(30*time.Second, 200*time.Millisecond, func() bool { return !p.running() || check() })
	require.True(t, ok && p.running(), "waiting for %s: %s", what, p.tail(40))
}

// query is the store's lines that contain word, each as its fields.
func query(t *testing.T, storeURL, word string) []map[string]string {
	r, err := http.Get(storeURL + "/select/logsql/query?query=" + url.QueryEscape(`"`+word+`"`))
	require.NoError(t, err)
	defer r.Body.Close()
	var out []map[string]string
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		var line map[string]string
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		out = append(out, line)
	}
	return out
}

var authFailuresLine = regexp.MustCompile(`(?m)^` + logging.AuthFailuresMetric + `\{[^}]*k8s_namespace_name="` + logTestNamespace + `"[^}]*\} ([0-9.e+]+)$`)

// authFailures is the collector's count of the test namespace's failed authentications (0 before
// the first).
func authFailures(t *testing.T, metricsURL string) float64 {
	r, err := http.Get(metricsURL)
	if err != nil {
		return 0
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	m := authFailuresLine.FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return v
}

func appendLines(t *testing.T, file string, lines ...string) {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func httpOK(u string) bool {
	r, err := http.Get(u)
	if err != nil {
		return false
	}
	r.Body.Close()
	return r.StatusCode == http.StatusOK
}

func localPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lookTool(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	require.NoError(t, err, "%s: scripts/tools.sh builds it (scripts/e2e.sh runs it)", name)
	return p
}
