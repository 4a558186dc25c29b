package config

import (
	"net"
	"strconv"

	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// Prometheus is the monitoring tier's Prometheus: replicas (each scrapes every target, so one
// survives the other), a claim each, and how long samples are kept.
type Prometheus struct {
	StatefulTier
	// Retention is --storage.tsdb.retention.time, a Prometheus duration such as 15d.
	Retention string `json:"retention"`
	// NodeExporter runs node-exporter on every node (bundled mode), in the node agents'
	// namespace.
	NodeExporter NodeExporter `json:"nodeExporter"`
}

// Alertmanager is the members of one Alertmanager cluster and where it sends alerts.
type Alertmanager struct {
	StatefulTier
	Receivers AlertReceivers `json:"receivers"`
}

// AlertReceivers are where alerts go. Every alert goes to Slack and e-mail where configured;
// critical ones also page through PagerDuty. Their URLs, keys and password are read from the
// existing Secret SecretName in the namespace (keys slack-url, pagerduty-routing-key,
// smtp-password), never from stack configuration. None configured: alerts stay in Alertmanager.
type AlertReceivers struct {
	// SecretName is an existing Secret of the namespace with slack-url, pagerduty-routing-key and
	// smtp-password.
	SecretName string `json:"secretName"`
	// SlackChannel receives every alert; empty: no Slack.
	SlackChannel string `json:"slackChannel"`
	// PagerDuty pages on critical alerts.
	PagerDuty bool       `json:"pagerduty"`
	Email     AlertEmail `json:"email"`
}

// AlertEmail is the e-mail receiver: To is empty when there is none.
type AlertEmail struct {
	// To receives every alert by e-mail; empty: no e-mail.
	To string `json:"to"`
	// From is the sender of the alert e-mails.
	From string `json:"from"`
	// Smarthost is the SMTP server, host:port.
	Smarthost string `json:"smarthost"`
	// Username logs in to the smarthost with the Secret's smtp-password; empty: no login.
	Username string `json:"username"`
}

// Any says whether a receiver is configured.
func (r AlertReceivers) Any() bool { return r.SlackChannel != "" || r.PagerDuty || r.Email.To != "" }

// Receiver secret keys.
const (
	SlackURLKey            = "slack-url"
	PagerDutyRoutingKeyKey = "pagerduty-routing-key"
	SMTPPasswordKey        = "smtp-password"
)

// Grafana is the dashboards' server.
type Grafana struct {
	// Resources are Grafana's requests and limits.
	Resources sizing.Resources `json:"resources"`
	// Host is the public name Grafana is reached at through the edge's entry point, with its TLS
	// and Grafana's own login, never the API's rate limit; a DNS name such as
	// grafana.example.com, other than edge.hosts. Empty: Grafana stays inside the cluster
	// (kubectl port-forward). Needs edge.entry ingress or gateway and monitoringMode bundled.
	Host string `json:"host"`
}

// MetricsAdapter says whether the program runs the external metrics adapter: in bundled mode,
// wherever the workers scale on the queue's depth.
func (s *Settings) MetricsAdapter() bool { return s.Bundled() && s.Worker.QueueScaling.Enabled }

// MetricsAdapterReplicas are the adapter's pods: two at the comprehensive level, so the worker
// HPA keeps its queue metric through a node's loss.
func (s *Settings) MetricsAdapterReplicas() int {
	if s.Monitoring == Comprehensive {
		return 2
	}
	return 1
}

// Ports are those Alertmanager sends notifications to, by name: https for Slack and PagerDuty,
// smtp for the smarthost's port; none without a receiver.
func (r AlertReceivers) Ports() map[string]int {
	ports := map[string]int{}
	if r.SlackChannel != "" || r.PagerDuty {
		ports["https"] = 443
	}
	if r.Email.To != "" {
		if _, port, err := net.SplitHostPort(r.Email.Smarthost); err == nil {
			if p, err := strconv.Atoi(port); err == nil {
				ports["smtp"] = p
			}
		}
	}
	return ports
}

// prometheusDefaults are Prometheus's per environment. prod: two replicas scraping everything,
// so a lost node loses neither alerting nor the last 30 days.
func prometheusDefaults(env Environment) Prometheus {
	p := byEnv(env,
		Prometheus{StatefulTier: StatefulTier{Replicas: 1, Resources: res("100m", "256Mi", "500m", "1Gi"), StorageSize: "5Gi"}, Retention: "3d"},
		Prometheus{StatefulTier: StatefulTier{Replicas: 1, Resources: res("250m", "1Gi", "1", "2Gi"), StorageSize: "50Gi"}, Retention: "15d"},
		Prometheus{StatefulTier: StatefulTier{Replicas: 2, Resources: res("1", "4Gi", "2", "8Gi"), StorageSize: "150Gi"}, Retention: "30d"})
	p.NodeExporter = nodeExporterDefaults(env)
	return p
}

// alertmanagerDefaults are Alertmanager's per environment: a three-member cluster in prod.
func alertmanagerDefaults(env Environment) Alertmanager {
	return byEnv(env,
		Alertmanager{StatefulTier: StatefulTier{Replicas: 1, Resources: res("25m", "32Mi", "100m", "64Mi"), StorageSize: "1Gi"}},
		Alertmanager{StatefulTier: StatefulTier{Replicas: 1, Resources: res("25m", "64Mi", "100m", "128Mi"), StorageSize: "1Gi"}},
		Alertmanager{StatefulTier: StatefulTier{Replicas: 3, Resources: res("50m", "64Mi", "200m", "256Mi"), StorageSize: "1Gi"}})
}

// grafanaDefaults are Grafana's per environment.
func grafanaDefaults(env Environment) Grafana {
	return byEnv(env,
		Grafana{Resources: res("50m", "128Mi", "250m", "256Mi")},
		Grafana{Resources: res("100m", "128Mi", "500m", "512Mi")},
		Grafana{Resources: res("100m", "256Mi", "1", "1Gi")})
}

// SLO is the API's service-level objectives over 30 days, which the monitoring tier turns into
// multi-window burn-rate alerts (the SRE workbook's) and the API dashboard's availability and
// error-budget panels. Percentages and seconds are decimal strings.
type SLO struct {
	// Availability is the share of the API's answers that are not a server error (5xx), in
	// percent: 99.9 leaves a budget of 0.1 % of requests, about 43 minutes of a full outage.
	Availability string `json:"availability"`
	// LatencyThreshold is the answer time in seconds that LatencyTarget percent of the API's
	// answers stay within; one of the buckets the application contract's histogram has
	// (APILatencyBuckets).
	LatencyThreshold string `json:"latencyThreshold"`
	LatencyTarget    string `json:"latencyTarget"`
}

// APILatencyBuckets are the upper bounds (le) of http_request_duration_seconds that the
// application contract requires (docs/app-contract.md): a latency objective's threshold is one of
// them, so the share of answers within it is counted, not interpolated.
var APILatencyBuckets = []string{"0.1", "0.25", "0.5", "1", "2.5", "5"}

// sloDefaults are the objectives per environment: the seed's 99.9 % in prod.
func sloDefaults(env Environment) SLO {
	return byEnv(env,
		SLO{Availability: "99", LatencyThreshold: "1", LatencyTarget: "95"},
		SLO{Availability: "99.5", LatencyThreshold: "0.5", LatencyTarget: "99"},
		SLO{Availability: "99.9", LatencyThreshold: "0.5", LatencyTarget: "99"})
}
