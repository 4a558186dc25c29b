package config

import "regexp"

// spiloMajor finds PostgreSQL's major version in a Spilo image's name (spilo-17).
var spiloMajor = regexp.MustCompile(`spilo-(\d+)`)

// PostgresMajor is the PostgreSQL major version a Spilo image's name says (spilo-17), or "" when
// it does not: the version WAL-G's archive prefix holds.
func PostgresMajor(image string) string {
	if m := spiloMajor.FindStringSubmatch(image); m != nil {
		return m[1]
	}
	return ""
}

// Images are the container images, pinned by tag. Override one to upgrade it.
type Images struct {
	// Postgres runs PostgreSQL under Patroni (Spilo).
	Postgres string `json:"postgres"`
	// PostgresClient runs the setup, backup and restore jobs (psql, pg_dump).
	PostgresClient string `json:"postgresClient"`
	// PostgresExporter serves PostgreSQL's metrics.
	PostgresExporter string `json:"postgresExporter"`
	// PgBouncer is the pooler.
	PgBouncer string `json:"pgbouncer"`
	// Redis runs both Redis tiers and their Sentinels.
	Redis string `json:"redis"`
	// RedisExporter serves Redis's metrics.
	RedisExporter string `json:"redisExporter"`
	// InfluxDB is the metrics store (InfluxDB 2).
	InfluxDB string `json:"influxdb"`
	// API and Worker are the Pynomaly application images; the migration job runs the API image.
	API    string `json:"api"`
	Worker string `json:"worker"`
	// Nginx is the edge proxy (an unprivileged image: non-root, port 8080); NginxExporter
	// turns its stub_status into Prometheus metrics.
	Nginx         string `json:"nginx"`
	NginxExporter string `json:"nginxExporter"`
	// The monitoring tier.
	Prometheus string `json:"prometheus"`
	// Alertmanager routes the alerts (monitoring full and comprehensive).
	Alertmanager string `json:"alertmanager"`
	// Grafana serves the dashboards.
	Grafana string `json:"grafana"`
	// KubeStateMetrics serves the namespace's object states (monitoring full and comprehensive).
	KubeStateMetrics string `json:"kubeStateMetrics"`
	// Kubectl is a kubectl image with a shell: the snapshot job's (storage.snapshots).
	Kubectl string `json:"kubectl"`
	// PullPolicy is every container's imagePullPolicy. Always (the default) has the kubelet ask
	// the registry at each container start: the pod's own pull credentials are checked every
	// time (an image another pod pulled onto the node is not simply reused), and a tag that its
	// publisher moved is noticed instead of nodes running different content under one name.
	// Layers a node has are not downloaded again. IfNotPresent suits a registry that rate-limits
	// or is not always reachable, ideally with images pinned by digest.
	PullPolicy string `json:"pullPolicy"`
	// PullSecrets name existing docker-registry Secrets of the namespace that every pod pulls
	// its images with (a private registry or mirror); empty: the nodes' own credentials.
	PullSecrets []string `json:"pullSecrets"`
	// LogStore is the bundled log store (VictoriaLogs), LogCollector the collector on every
	// node (the OpenTelemetry Collector's contrib distribution, whose components the program's
	// configuration uses), NodeExporter the node metrics' exporter.
	LogStore     string `json:"logStore"`
	LogCollector string `json:"logCollector"`
	NodeExporter string `json:"nodeExporter"`
	// PrometheusAdapter serves the queue depth as an external metric (worker.queueScaling).
	PrometheusAdapter string `json:"prometheusAdapter"`
}

// PullPolicies are the image pull policies images.pullPolicy accepts (Kubernetes' own).
var PullPolicies = []string{"Always", "IfNotPresent", "Never"}

// imageDefaults are the pinned images every environment starts from.
func imageDefaults() Images {
	return Images{
		Postgres:          "ghcr.io/zalando/spilo-17:4.0-p3",
		PostgresClient:    "postgres:17.5-alpine",
		PostgresExporter:  "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
		PgBouncer:         "ghcr.io/cloudnative-pg/pgbouncer:1.24.1",
		Redis:             "redis:7.4.2-alpine",
		RedisExporter:     "oliver006/redis_exporter:v1.67.0",
		InfluxDB:          "influxdb:2.7.11-alpine",
		API:               "ghcr.io/pynomaly/pynomaly-api:1.0.0",
		Worker:            "ghcr.io/pynomaly/pynomaly-worker:1.0.0",
		Nginx:             "nginxinc/nginx-unprivileged:1.27.5-alpine",
		NginxExporter:     "nginx/nginx-prometheus-exporter:1.4.2",
		Prometheus:        "quay.io/prometheus/prometheus:v3.2.1",
		Alertmanager:      "quay.io/prometheus/alertmanager:v0.28.1",
		Grafana:           "grafana/grafana:11.5.2",
		KubeStateMetrics:  "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0",
		PrometheusAdapter: "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",
		Kubectl:           "alpine/k8s:1.33.4",
		LogStore:          "victoriametrics/victoria-logs:v1.52.2",
		LogCollector:      "otel/opentelemetry-collector-contrib:0.141.0",
		NodeExporter:      "quay.io/prometheus/node-exporter:v1.9.1",
		PullPolicy:        "Always",
		PullSecrets:       []string{},
	}
}
