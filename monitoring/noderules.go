package monitoring

import (
	"strings"

	"github.com/pynomaly/pynomaly-platform/logging"
)

// NodeAgents are the node agents the monitoring tier watches, in their own namespace: node-exporter
// (every node's disks and memory) and the log collector (what it derives from the lines).
type NodeAgents struct {
	// Namespace is theirs; their series carry it as their namespace label. Empty: no node agent.
	Namespace string
	// NodeExporter loads the node alerts; LogAlerts the alert on failed authentications.
	NodeExporter, LogAlerts bool
}

// AuthFailuresMetric is the log collector's counter of the edge's answers 401, from its access
// log, labelled with the namespace of the pod that logged the line (k8s_namespace_name).
const AuthFailuresMetric = logging.AuthFailuresMetric

// nodeFilesystems are node-exporter's filesystem series that hold data: not the memory-backed
// ones, nor a container's overlay or a read-only image (always full).
const nodeFilesystems = `fstype!~"tmpfs|overlay|squashfs"`

// NodeAlertRules are the alerts on the node agents of the platform in namespace ns: any of them
// not scraped, and as n asks, node-exporter's node alerts (a filesystem nearly full or filling
// up, memory short) and the collector's failed authentications at the platform's edge. Their
// selectors are limited to the node agents' namespace; the authentications to lines of ns.
func NodeAlertRules(ns string, n NodeAgents) []AlertRule {
	if n.Namespace == "" {
		return nil
	}
	rules := []AlertRule{nodeAgentDownRule}
	if n.NodeExporter {
		rules = append(rules, nodeExporterRules...)
	}
	if n.LogAlerts {
		rules = append(rules, authFailuresRule)
	}
	scoped := strings.NewReplacer("{NODE_NS", `{namespace="`+n.Namespace+`"`, `"PLATFORM_NS"`, `"`+ns+`"`)
	for i := range rules {
		rules[i].Expr = scoped.Replace(rules[i].Expr)
	}
	return rules
}

// nodeAgentDownRule is PynomalyTargetDown for the node agents, whose series are not the
// namespace's: a node-exporter or collector not scraped leaves that node's alerts silent.
var nodeAgentDownRule = AlertRule{
	Name:        "PynomalyNodeAgentDown",
	Expr:        `up{NODE_NS} == 0`,
	For:         "10m",
	Severity:    SeverityWarning,
	Summary:     "{{ $labels.job }} on node {{ $labels.node }} is down",
	Description: "Prometheus has not been able to scrape this node agent for 10 minutes: that node's alerts are blind.",
}

// nodeExporterRules are node-exporter's: a filesystem almost full (a node out of disk evicts its
// pods), one that fills up within hours at the pace of the last six, and memory short.
var nodeExporterRules = []AlertRule{
	{
		Name: "PynomalyNodeFilesystemAlmostFull",
		Expr: `node_filesystem_avail_bytes{NODE_NS,` + nodeFilesystems + `} / node_filesystem_size_bytes{NODE_NS,` + nodeFilesystems + `} < 0.1` +
			` and node_filesystem_readonly{NODE_NS,` + nodeFilesystems + `} == 0`,
		For:         "15m",
		Severity:    SeverityWarning,
		Summary:     "Filesystem {{ $labels.mountpoint }} of node {{ $labels.node }} has {{ $value | humanizePercentage }} left",
		Description: "Less than 10% of the filesystem available for 15 minutes: the kubelet evicts pods when it runs out.",
	},
	{
		Name: "PynomalyNodeFilesystemFillingUp",
		Expr: `node_filesystem_avail_bytes{NODE_NS,` + nodeFilesystems + `} / node_filesystem_size_bytes{NODE_NS,` + nodeFilesystems + `} < 0.2` +
			` and predict_linear(node_filesystem_avail_bytes{NODE_NS,` + nodeFilesystems + `}[6h], 4 * 3600) < 0` +
			` and node_filesystem_readonly{NODE_NS,` + nodeFilesystems + `} == 0`,
		For:         "1h",
		Severity:    SeverityCritical,
		Summary:     "Filesystem {{ $labels.mountpoint }} of node {{ $labels.node }} fills up within 4 hours ({{ $value | humanizePercentage }} left)",
		Description: "Less than 20% available and, at the pace of the last 6 hours, none left within 4 hours, for an hour.",
	},
	{
		Name:        "PynomalyNodeMemoryLow",
		Expr:        `node_memory_MemAvailable_bytes{NODE_NS} / node_memory_MemTotal_bytes{NODE_NS} < 0.1`,
		For:         "15m",
		Severity:    SeverityWarning,
		Summary:     "Node {{ $labels.node }} has {{ $value | humanizePercentage }} of its memory available",
		Description: "Less than 10% of the node's memory available for 15 minutes: the kernel's OOM killer or the kubelet's evictions are next.",
	},
}

// authFailuresRule fires on repeated failed authentications at the platform's edge: at least 10
// answers 401 in 5 minutes, from the collector's counter over every node (one failure, or a few
// mistyped passwords, stay below). The series of a collector that had counted none starts at its
// first failures, which increase() does not see.
var authFailuresRule = AlertRule{
	Name:        "PynomalyAuthenticationFailures",
	Expr:        `sum(increase(` + AuthFailuresMetric + `{NODE_NS,k8s_namespace_name="PLATFORM_NS"}[5m])) >= 10`,
	For:         "1m",
	Severity:    SeverityWarning,
	Summary:     "{{ $value | printf \"%.0f\" }} failed authentications at the edge in 5 minutes",
	Description: "At least 10 requests answered 401 in 5 minutes, for a minute: credentials being guessed, or a client with stale ones.",
}
