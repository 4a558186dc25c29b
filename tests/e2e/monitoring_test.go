//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The monitoring tier in both modes against the real API server, with the Prometheus Operator's
// own CustomResourceDefinitions read from the Go module cache by scripts/crds.sh: each stack is
// deployed bundled (its Prometheus, Grafana, and from full on Alertmanager with a webhook whose
// URL stays out of the state in clear text, kube-state-metrics and the metrics adapter with its
// APIService), then switched to operator mode (PodMonitors and a PrometheusRule,
// validated against the CRDs' schemas), each update followed by a no-change preview. No
// operator runs, so nothing is scraped.
func TestMonitoringModes(t *testing.T) {
	installCRDs(t, "monitoring", []string{"podmonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"})
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) { monitoringLifecycle(t, env) })
	}
}

func monitoringLifecycle(t *testing.T, env string) {
	p, done := clusterProject(t, env)
	const hook = "https://hooks.example.test/services/T0/B0/WebhookSecret42"
	p.must("config", "set", "--secret", "alertmanagerWebhookUrl", hook)

	p.must("up", "--yes", "--skip-preview")
	assert.NotEmpty(t, objectField(t, "statefulset", "pynomaly-prometheus", "{.metadata.name}"))
	assert.Empty(t, names(t, "podmonitors"))
	if env != "dev" {
		want := map[string]string{"staging": "1/1", "prod": "2/2"}[env]
		assert.Equal(t, want, objectField(t, "deployment", "pynomaly-metrics-adapter", "{.status.readyReplicas}/{.spec.replicas}"))
		assert.Equal(t, "pynomaly-metrics-adapter", mustKubectl(t, "get", "apiservice", "v1beta1.external.metrics.k8s.io", "-o", "jsonpath={.spec.service.name}"))
	}
	assert.NotContains(t, p.must("stack", "export"), "WebhookSecret42", "the webhook URL is in the state in clear text")
	p.must("preview", "--expect-no-changes")

	// Grafana is then the cluster's, not the program's: a stack that exposes it (prod's
	// grafana.host) stops exposing it in the same update.
	p.must("config", "set", "--path", "grafana.host", "")
	p.must("config", "set", "monitoringMode", "operator")
	p.must("up", "--yes", "--skip-preview")
	monitors := names(t, "podmonitors")
	for _, job := range []string{"pynomaly-api", "pynomaly-worker", "pynomaly-postgres", "pynomaly-redis-queue", "pynomaly-influxdb", "pynomaly-nginx"} {
		assert.Contains(t, monitors, "podmonitor.monitoring.coreos.com/"+job, env)
	}
	assert.Equal(t, []string{"prometheusrule.monitoring.coreos.com/pynomaly"}, names(t, "prometheusrules"))
	assert.Equal(t, "pynomaly", objectField(t, "prometheusrule", "pynomaly", "{.spec.groups[0].name}"))
	out, err := kubectl(t, "-n", namespace, "get", "statefulset", "pynomaly-prometheus")
	assert.Error(t, err, "no Prometheus runs in the namespace in operator mode")
	assert.Contains(t, out, "NotFound")
	out, err = kubectl(t, "get", "apiservice", "v1beta1.external.metrics.k8s.io")
	assert.Error(t, err, "the bundled adapter's APIService is gone in operator mode")
	assert.Contains(t, out, "NotFound")
	p.must("preview", "--expect-no-changes")

	destroy(t, p, env)
	done()
}

// names are the namespace's objects of kind, as kind/name.
func names(t *testing.T, kind string) []string {
	return strings.Fields(mustKubectl(t, "-n", namespace, "get", kind, "-o", "name"))
}
