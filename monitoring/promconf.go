package monitoring

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// ScrapeTarget is one scrape job: the pods of a workload, found through the Kubernetes API,
// scraped on their metrics port.
type ScrapeTarget struct {
	// Job is the job label of every series: the workload's name.
	Job      string
	Selector map[string]string
	Port     int
	// PortName is the metrics port's name in the pod spec (a PodMonitor addresses it by name).
	PortName string
	Path     string
	// HonorLabels keeps the target's own namespace and pod labels (kube-state-metrics reports
	// other objects).
	HonorLabels bool
	// ServerName is the certificate's name of a target that serves metrics over TLS, verified
	// against the internal CA; empty for plain HTTP.
	ServerName string
	// Namespace is the namespace of the target's pods when it is not the platform's: the node
	// agents'. Empty: the platform's.
	Namespace string
	// NodeLabel labels every series with the node its pod runs on (node): a node agent's series
	// describe that node.
	NodeLabel bool
}

// ScrapeTargets are the jobs of every workload that declares a metrics port, in the order the
// tiers declared them. A workload added later with Metrics is scraped without further code.
func ScrapeTargets(workloads []kube.Workload) []ScrapeTarget {
	var out []ScrapeTarget
	for _, w := range workloads {
		if w.Metrics == nil {
			continue
		}
		t := ScrapeTarget{Job: w.Name, Selector: w.Selector, Port: w.Metrics.Port, Path: w.Metrics.Path, ServerName: w.Metrics.TLSServerName}
		for name, port := range w.Ports {
			if port == w.Metrics.Port {
				t.PortName = name
			}
		}
		out = append(out, t)
	}
	return out
}

// NodeTargets are the scrape jobs of the node agents' workloads that declare a metrics port:
// their pods in namespace ns (the node agents'), each series labelled with its node.
func NodeTargets(ns string, workloads []kube.Workload) []ScrapeTarget {
	out := ScrapeTargets(workloads)
	for i := range out {
		out[i].Namespace, out[i].NodeLabel = ns, true
	}
	return out
}

// PrometheusSite is what prometheus.yml is made of.
type PrometheusSite struct {
	Namespace string
	// NodeNamespace is the node agents' namespace, where some Targets are; the kubelets' series
	// of its containers are kept too. Empty when the stack runs no node agent.
	NodeNamespace string
	// Targets are the platform's own pods (the monitoring tier's included).
	Targets []ScrapeTarget
	// Alertmanagers are host:port of every Alertmanager member (each gets every alert); none
	// without Alertmanager.
	Alertmanagers []string
	// Kubelets adds the kubelets' own and cAdvisor metrics (container CPU, memory, volume
	// stats) and the API server's.
	Kubelets bool
	// CertManager is host:port of cert-manager's metrics, scraped for this namespace's
	// certificates (their expiry); empty when the platform uses no certificate.
	CertManager string
	// RuleFiles are globs of rule files.
	RuleFiles []string
	// Environment is an external label of every series and alert that leaves Prometheus.
	Environment string
}

// Scrape and evaluation timing of the platform's Prometheus.
const (
	ScrapeInterval     = "30s"
	EvaluationInterval = "30s"
)

// Where a pod finds its own service account's credentials.
const (
	serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
)

type promConfig struct {
	Global        promGlobal     `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files,omitempty"`
	Alerting      *promAlerting  `yaml:"alerting,omitempty"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string            `yaml:"scrape_interval"`
	ScrapeTimeout      string            `yaml:"scrape_timeout"`
	EvaluationInterval string            `yaml:"evaluation_interval"`
	ExternalLabels     map[string]string `yaml:"external_labels,omitempty"`
}

type promAlerting struct {
	Alertmanagers []alertmanagerConfig `yaml:"alertmanagers"`
}

type alertmanagerConfig struct {
	APIVersion    string         `yaml:"api_version"`
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

type scrapeConfig struct {
	JobName          string          `yaml:"job_name"`
	HonorLabels      bool            `yaml:"honor_labels,omitempty"`
	MetricsPath      string          `yaml:"metrics_path,omitempty"`
	Scheme           string          `yaml:"scheme,omitempty"`
	TLSConfig        *tlsConfig      `yaml:"tls_config,omitempty"`
	Authorization    *authorization  `yaml:"authorization,omitempty"`
	KubernetesSD     []kubernetesSD  `yaml:"kubernetes_sd_configs,omitempty"`
	StaticConfigs    []staticConfig  `yaml:"static_configs,omitempty"`
	RelabelConfigs   []relabelConfig `yaml:"relabel_configs,omitempty"`
	MetricRelabeling []relabelConfig `yaml:"metric_relabel_configs,omitempty"`
}

type tlsConfig struct {
	CAFile     string `yaml:"ca_file"`
	ServerName string `yaml:"server_name,omitempty"`
}

type authorization struct {
	CredentialsFile string `yaml:"credentials_file"`
}

type kubernetesSD struct {
	Role       string        `yaml:"role"`
	Namespaces *sdNamespaces `yaml:"namespaces,omitempty"`
	Selectors  []sdSelector  `yaml:"selectors,omitempty"`
}

type sdNamespaces struct {
	Names []string `yaml:"names"`
}

type sdSelector struct {
	Role  string `yaml:"role"`
	Label string `yaml:"label"`
}

type relabelConfig struct {
	SourceLabels []string `yaml:"source_labels,flow,omitempty"`
	Regex        string   `yaml:"regex,omitempty"`
	TargetLabel  string   `yaml:"target_label,omitempty"`
	Replacement  string   `yaml:"replacement,omitempty"`
	Action       string   `yaml:"action,omitempty"`
}

var nonLabelChar = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// podLabelMeta is the discovery meta label of a pod label (non-alphanumerics become _).
func podLabelMeta(label string) string {
	return "__meta_kubernetes_pod_label_" + nonLabelChar.ReplaceAllString(label, "_")
}

// podJob is one workload's job: pods of the namespace (the target's own when it names one),
// selected by the API server with the workload's own selector (so Prometheus watches only those
// pods), kept on the metrics port.
func podJob(ns string, t ScrapeTarget) scrapeConfig {
	if t.Namespace != "" {
		ns = t.Namespace
	}
	keys := make([]string, 0, len(t.Selector))
	for k := range t.Selector {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var selector []string
	relabel := []relabelConfig{}
	for _, k := range keys {
		selector = append(selector, k+"="+t.Selector[k])
		relabel = append(relabel, relabelConfig{SourceLabels: []string{podLabelMeta(k)}, Regex: regexp.QuoteMeta(t.Selector[k]), Action: "keep"})
	}
	relabel = append(relabel,
		relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_container_port_number"}, Regex: fmt.Sprint(t.Port), Action: "keep"},
		relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_phase"}, Regex: "Pending|Succeeded|Failed", Action: "drop"},
		relabelConfig{SourceLabels: []string{"__meta_kubernetes_namespace"}, TargetLabel: "namespace"},
		relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_name"}, TargetLabel: "pod"},
		relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_label_component"}, TargetLabel: "component"},
	)
	if t.NodeLabel {
		relabel = append(relabel, relabelConfig{SourceLabels: []string{"__meta_kubernetes_pod_node_name"}, TargetLabel: "node"})
	}
	var scheme string
	var tls *tlsConfig
	if t.ServerName != "" {
		scheme, tls = "https", &tlsConfig{CAFile: tier.CAFile, ServerName: t.ServerName}
	}
	return scrapeConfig{
		JobName: t.Job, MetricsPath: t.Path, HonorLabels: t.HonorLabels, Scheme: scheme, TLSConfig: tls,
		KubernetesSD: []kubernetesSD{{
			Role: "pod", Namespaces: &sdNamespaces{Names: []string{ns}},
			Selectors: []sdSelector{{Role: "pod", Label: strings.Join(selector, ",")}},
		}},
		RelabelConfigs: relabel,
	}
}

// kubeletJobs scrape every node's kubelet directly (port 10250, with the pod's token): its own
// metrics (volume stats) and cAdvisor's (container CPU and memory). Only the series of the
// namespace and of the node agents' (nodeNS, when there is one) are kept; the rest of the
// cluster is not ours to store.
func kubeletJobs(ns, nodeNS string) []scrapeConfig {
	tls := &tlsConfig{CAFile: serviceAccountDir + "/ca.crt"}
	auth := &authorization{CredentialsFile: serviceAccountDir + "/token"}
	ours := regexp.QuoteMeta(ns)
	if nodeNS != "" {
		ours += "|" + regexp.QuoteMeta(nodeNS)
	}
	keepNamespace := []relabelConfig{{SourceLabels: []string{"namespace"}, Regex: ours, Action: "keep"}}
	node := func(job, path string) scrapeConfig {
		return scrapeConfig{
			JobName: job, MetricsPath: path, Scheme: "https", TLSConfig: tls, Authorization: auth,
			KubernetesSD: []kubernetesSD{{Role: "node"}},
			RelabelConfigs: []relabelConfig{
				{SourceLabels: []string{"__meta_kubernetes_node_name"}, TargetLabel: "node"},
			},
			MetricRelabeling: keepNamespace,
		}
	}
	return []scrapeConfig{
		node("kubelet", "/metrics"),
		node("cadvisor", "/metrics/cadvisor"),
		{
			// The API server, through its in-cluster Service: only its request metrics matter
			// here, and reading /metrics is a non-resource permission (no discovery needed).
			JobName: "apiserver", Scheme: "https", TLSConfig: tls, Authorization: auth,
			StaticConfigs: []staticConfig{{Targets: []string{"kubernetes.default.svc:443"}}},
			MetricRelabeling: []relabelConfig{{
				SourceLabels: []string{"__name__"}, Regex: "apiserver_request_total|apiserver_request_duration_seconds_(sum|count)", Action: "keep",
			}},
		},
	}
}

// CertManagerMetrics is where a standard cert-manager install (its manifests and Helm chart)
// serves its metrics: the controller's Service in the cert-manager namespace.
const CertManagerMetrics = "cert-manager.cert-manager.svc:9402"

// certManagerJob scrapes cert-manager's controller for the certificates' expiry, keeping only
// this namespace's certificates. Their own namespace label is the certificate's (honor_labels),
// which the certificate alert selects on. The target carries this namespace too, so a
// cert-manager that is not there raises PynomalyTargetDown instead of silencing that alert.
func certManagerJob(ns, target string) scrapeConfig {
	return scrapeConfig{
		JobName: "cert-manager", HonorLabels: true,
		StaticConfigs: []staticConfig{{Targets: []string{target}, Labels: map[string]string{"namespace": ns}}},
		MetricRelabeling: []relabelConfig{
			{SourceLabels: []string{"__name__"}, Regex: "certmanager_certificate_.*", Action: "keep"},
			{SourceLabels: []string{"namespace"}, Regex: regexp.QuoteMeta(ns), Action: "keep"},
		},
	}
}

// PrometheusConf is prometheus.yml.
func PrometheusConf(site PrometheusSite) string {
	c := promConfig{
		Global: promGlobal{
			ScrapeInterval: ScrapeInterval, ScrapeTimeout: "10s", EvaluationInterval: EvaluationInterval,
			ExternalLabels: map[string]string{"environment": site.Environment, "namespace": site.Namespace},
		},
		RuleFiles: site.RuleFiles,
	}
	if len(site.Alertmanagers) > 0 {
		c.Alerting = &promAlerting{Alertmanagers: []alertmanagerConfig{{
			APIVersion: "v2", StaticConfigs: []staticConfig{{Targets: site.Alertmanagers}},
		}}}
	}
	for _, t := range site.Targets {
		c.ScrapeConfigs = append(c.ScrapeConfigs, podJob(site.Namespace, t))
	}
	if site.Kubelets {
		c.ScrapeConfigs = append(c.ScrapeConfigs, kubeletJobs(site.Namespace, site.NodeNamespace)...)
	}
	if site.CertManager != "" {
		c.ScrapeConfigs = append(c.ScrapeConfigs, certManagerJob(site.Namespace, site.CertManager))
	}
	return marshalYAML(c)
}

func marshalYAML(v any) string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		// Only plain structs of strings, numbers and lists are encoded: a failure is a bug.
		panic(fmt.Sprintf("yaml: %v", err))
	}
	return b.String()
}
