package config

import "github.com/pynomaly/pynomaly-platform/internal/sizing"

// Logging is the platform's log pipeline: a collector on every node tails the platform's
// container logs, labels each line with its namespace, pod, container and the pod's app and
// component labels, and ships it to a log store. It runs in the node agents' namespace
// (NodeNamespace), the only place the platform reads the host's files.
type Logging struct {
	// Mode is off (kubectl logs only), bundled (the stack runs VictoriaLogs, Grafana's logs
	// datasource) or external (the collector ships to external.endpoint).
	Mode string `json:"mode"`
	// Retention is how long the bundled store keeps logs: a number of days, weeks or years
	// (7d, 4w, 1y).
	Retention string `json:"retention"`
	// StorageSize is the bundled store's claim.
	StorageSize string `json:"storageSize"`
	// Resources are the bundled store's requests and limits.
	Resources sizing.Resources `json:"resources"`
	// CollectorResources are each node's collector's requests and limits.
	CollectorResources sizing.Resources `json:"collectorResources"`
	External           ExternalLogs     `json:"external"`
}

// ExternalLogs is the log store a stack with logging.mode external ships to.
type ExternalLogs struct {
	// Protocol is otlp (OTLP over HTTP: the OpenTelemetry Collector, Elastic, Grafana Cloud,
	// VictoriaLogs) or loki (Loki 3's native OTLP ingestion, under /otlp).
	Protocol string `json:"protocol"`
	// Endpoint is the store's base URL: https, or http to a cluster-internal Service
	// (*.svc, *.svc.cluster.local) only, since log lines can carry personal data.
	Endpoint string `json:"endpoint"`
	// SecretName is an existing Secret of the node agents' namespace whose key authorization is
	// sent as the Authorization header (Bearer ..., Basic ...); empty: no header.
	SecretName string `json:"secretName"`
}

// Logging modes.
const (
	LoggingOff      = "off"
	LoggingBundled  = "bundled"
	LoggingExternal = "external"
)

// LoggingModes are the modes logging.mode accepts.
var LoggingModes = []string{LoggingOff, LoggingBundled, LoggingExternal}

// ExternalLogProtocols are the protocols logging.external.protocol accepts.
var ExternalLogProtocols = []string{"otlp", "loki"}

// AuthorizationKey is the key of logging.external.secretName's Secret the collector sends.
const AuthorizationKey = "authorization"

// On says whether the collector runs.
func (l Logging) On() bool { return l.Mode == LoggingBundled || l.Mode == LoggingExternal }

// NodeNamespace is the node agents' namespace: the log collector and node-exporter, the only
// pods of the platform given the host's files, network or processes, so the only namespace of
// the platform whose Pod Security level is privileged.
func (s *Settings) NodeNamespace() string { return s.Namespace + "-node" }

// NodeAgents says whether the stack runs anything in NodeNamespace.
func (s *Settings) NodeAgents() bool { return s.Logging.On() || s.NodeExporter() }

// NodeExporter says whether node-exporter runs: prometheus.nodeExporter in bundled mode (the
// cluster's own monitoring stack brings one in operator mode).
func (s *Settings) NodeExporter() bool { return s.Bundled() && s.Prometheus.NodeExporter.Enabled }

// NodeExporter is node-exporter on every node, scraped by the bundled Prometheus: the
// Infrastructure dashboard's node panels and the node disk and memory alerts.
type NodeExporter struct {
	// Enabled runs it; off in dev.
	Enabled bool `json:"enabled"`
	// Resources are each node's node-exporter's requests and limits.
	Resources sizing.Resources `json:"resources"`
}

// loggingDefaults are the log pipeline's per environment: off in dev (kubectl logs on a laptop's
// cluster), bundled with two weeks in staging and thirty days in prod.
func loggingDefaults(env Environment) Logging {
	collector := res("50m", "64Mi", "500m", "256Mi")
	return byEnv(env,
		Logging{Mode: LoggingOff, Retention: "3d", StorageSize: "2Gi", Resources: res("50m", "128Mi", "500m", "512Mi"), CollectorResources: collector},
		Logging{Mode: LoggingBundled, Retention: "14d", StorageSize: "20Gi", Resources: res("100m", "256Mi", "1", "1Gi"), CollectorResources: collector},
		Logging{Mode: LoggingBundled, Retention: "30d", StorageSize: "50Gi", Resources: res("500m", "1Gi", "2", "4Gi"), CollectorResources: res("100m", "128Mi", "1", "512Mi")})
}

// nodeExporterDefaults: off in dev, on in staging and prod.
func nodeExporterDefaults(env Environment) NodeExporter {
	return NodeExporter{Enabled: env != Dev, Resources: res("25m", "32Mi", "250m", "128Mi")}
}
