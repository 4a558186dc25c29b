package logging

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// The log collector's ports: its health check (the probes) and the Prometheus exporter of the
// metrics it derives from the lines (AuthFailuresMetric).
const (
	CollectorHealthPort  = 13133
	CollectorMetricsPort = 9464
)

// AuthFailuresMetric is the counter the collector derives from the edge's access log: one per
// answer 401 (a request without valid credentials), labelled with the namespace. The monitoring
// tier's PynomalyAuthenticationFailures alert reads it.
const AuthFailuresMetric = "pynomaly_log_auth_failures_total"

// authFailure is an access-log line of the edge (log_format edge in edge/assets/nginx.conf.tmpl:
// `$remote_addr [$time_local] "$request" $status ...`) whose status is 401. Nginx escapes a
// quote inside the request as \x22, so no request line can fake the status that follows it.
const authFailure = `^\S+ \[[^\]]+\] "[^"]*" 401 `

// Collector is the OpenTelemetry Collector's configuration of a node's log collector.
type Collector struct {
	// Namespace is the platform's: only its pods' logs are read, and the pod metadata is
	// watched in it alone (a Role, not a ClusterRole).
	Namespace string
	// LogRoot is the kubelet's pod log directory (/var/log/pods): one directory per pod,
	// <namespace>_<pod>_<uid>/<container>/<restart>.log, in the CRI format.
	LogRoot string
	// StorageDir keeps the read positions and the sending queue across the collector's restarts
	// (a directory of the node): a restart neither reads a line twice nor loses one.
	StorageDir string
	// KubeAuth is how the collector reaches the API server: serviceAccount in its pod,
	// kubeConfig (the KUBECONFIG file) in a test.
	KubeAuth string
	// Listen is the address the health check and the metrics listen on: ${env:POD_IP} in a pod.
	Listen string
	// HealthPort and MetricsPort are where; 0: CollectorHealthPort and CollectorMetricsPort.
	HealthPort, MetricsPort int
	// EdgeComponent is the edge's component label: its access log is where failed
	// authentications are counted.
	EdgeComponent string
	Export        Export
}

// Export is where the collector ships the lines.
type Export struct {
	// LogsURL is the full URL of the store's OTLP/HTTP logs endpoint.
	LogsURL string
	// StreamFields, for VictoriaLogs, are the fields that make a log stream (VL-Stream-Fields).
	StreamFields []string
	// AuthorizationEnv, when set, is the environment variable whose value is sent as the
	// Authorization header (read from a Secret: never in the configuration).
	AuthorizationEnv string
}

// Labels are the attributes every shipped line carries: where it comes from, from the kubelet's
// path (namespace, pod, its uid, container) and from the pod (its app and component labels, read
// from the API server), and the stream it was written to.
var Labels = []string{"k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "app", "component"}

// Config is the collector's configuration file.
func (c Collector) Config() string {
	exporter := map[string]any{
		"logs_endpoint": c.Export.LogsURL,
		// Lines wait on the node's disk while the store is away, not in memory.
		"sending_queue":    map[string]any{"enabled": true, "storage": "file_storage", "queue_size": 5000},
		"retry_on_failure": map[string]any{"enabled": true, "max_elapsed_time": "0s"},
	}
	headers := map[string]string{}
	if len(c.Export.StreamFields) > 0 {
		headers["VL-Stream-Fields"] = strings.Join(c.Export.StreamFields, ",")
	}
	if c.Export.AuthorizationEnv != "" {
		headers["Authorization"] = "${env:" + c.Export.AuthorizationEnv + "}"
	}
	if len(headers) > 0 {
		exporter["headers"] = headers
	}
	cfg := map[string]any{
		"extensions": map[string]any{
			"health_check": map[string]any{"endpoint": fmt.Sprintf("%s:%d", c.Listen, or(c.HealthPort, CollectorHealthPort))},
			"file_storage": map[string]any{"directory": c.StorageDir, "create_directory": true},
		},
		"receivers":  map[string]any{"filelog": c.filelog()},
		"processors": c.processors(),
		"connectors": map[string]any{"count": map[string]any{"logs": map[string]any{
			strings.TrimSuffix(AuthFailuresMetric, "_total"): map[string]any{
				"description": "Answers 401 in the edge's access log",
				"conditions":  []string{fmt.Sprintf(`resource.attributes["component"] == %q and IsMatch(body, %q)`, c.EdgeComponent, authFailure)},
				"attributes":  []map[string]string{{"key": "k8s.namespace.name"}},
			},
		}}},
		"exporters": map[string]any{
			"otlphttp/logs": exporter,
			"prometheus": map[string]any{"endpoint": fmt.Sprintf("%s:%d", c.Listen, or(c.MetricsPort, CollectorMetricsPort)),
				"metric_expiration": counterKept},
		},
		"service": map[string]any{
			"extensions": []string{"health_check", "file_storage"},
			// Its own telemetry is its logs (on stderr, which it does not read back: its pods are
			// not in Namespace); the metrics port serves what it derives.
			"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
			"pipelines": map[string]any{
				"logs": map[string]any{
					"receivers": []string{"filelog"}, "processors": []string{"memory_limiter", "k8sattributes", "batch"},
					"exporters": []string{"otlphttp/logs", "count"},
				},
				"metrics/derived": map[string]any{"receivers": []string{"count"}, "processors": []string{"transform/arrival", "deltatocumulative"},
					"exporters": []string{"prometheus"}},
			},
		},
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		panic(fmt.Sprintf("collector configuration: %v", err))
	}
	return b.String()
}

// filelog tails the namespace's container logs, and parses the runtime's format: CRI
// (containerd, CRI-O) or Docker's JSON, lines the runtime split rejoined, the namespace, pod, uid
// and container from the path. A first start reads the files from their beginning, since a
// node's pods often start before its collector (at the node's boot); after that it reads from
// the positions it stored, so a restart reads no line twice.
func (c Collector) filelog() map[string]any {
	return map[string]any{
		"include":           []string{fmt.Sprintf("%s/%s_*/*/*.log", c.LogRoot, c.Namespace)},
		"include_file_path": true,
		"start_at":          "beginning",
		"storage":           "file_storage",
		"operators":         []map[string]any{{"type": "container", "id": "container-parser"}},
	}
}

// processors: the memory limiter first (a collector under pressure refuses lines, which wait in
// the files, rather than being killed), the pod's labels, then batches.
func (c Collector) processors() map[string]any {
	return map[string]any{
		"memory_limiter": map[string]any{"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
		"k8sattributes": map[string]any{
			"auth_type":       c.KubeAuth,
			"filter":          map[string]any{"namespace": c.Namespace},
			"pod_association": []map[string]any{{"sources": []map[string]string{{"from": "resource_attribute", "name": "k8s.pod.uid"}}}},
			"extract": map[string]any{
				"metadata": []string{},
				"labels": []map[string]string{
					{"tag_name": "app", "key": "app", "from": "pod"},
					{"tag_name": "component", "key": "component", "from": "pod"},
				},
			},
		},
		"batch": map[string]any{"send_batch_size": 1000, "timeout": "1s"},
		// The count is a delta per batch, stamped with its lines' own times, which the Prometheus
		// exporter does not add up when one batch does not start where the last ended (each new
		// count replaced the last: found by the end-to-end test). Stamped with their arrival
		// instead, always later than the last, the deltas add up to a counter; a series is kept
		// for a week without failures, so the alert's increase() sees the next ones.
		"transform/arrival": map[string]any{"metric_statements": []map[string]any{{
			"context": "datapoint", "statements": []string{"set(time, Now())", "set(start_time, time)"},
		}}},
		"deltatocumulative": map[string]any{"max_stale": counterKept},
	}
}

// counterKept is how long a derived counter outlives its last increment.
const counterKept = "168h"

// or is port, or def when port is 0.
func or(port, def int) int {
	if port == 0 {
		return def
	}
	return port
}
