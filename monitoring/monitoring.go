// Package monitoring is the monitoring tier: Prometheus, Alertmanager, kube-state-metrics, Grafana
// and the external-metrics adapter in bundled mode, PodMonitors and PrometheusRules in operator
// mode, and the generated prometheus.yml, rules, alertmanager.yml and dashboards.
package monitoring

import (
	"fmt"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names and ports of the monitoring tier.
const (
	PrometheusName            = "pynomaly-prometheus"
	PrometheusHeadlessService = "pynomaly-prometheus-headless"
	PrometheusPort            = 9090
	AlertmanagerName          = "pynomaly-alertmanager"
	AlertmanagerHeadless      = "pynomaly-alertmanager-headless"
	AlertmanagerPort          = 9093
	AlertmanagerClusterPort   = 9094
	GrafanaName               = "pynomaly-grafana"
	GrafanaPort               = 3000
	KubeStateMetricsName      = "pynomaly-kube-state-metrics"
	KubeStateMetricsPort      = 8080
	kubeStateMetricsTelemetry = 8081
	// monitoringUID is nobody, which the Prometheus, Alertmanager and kube-state-metrics images
	// run as. grafanaUID is Grafana's: its image runs as any user given write access to its
	// data path (an emptyDir here), so it moves from the image's 472 to the range (10000 and
	// more) no account of the node uses.
	monitoringUID = tier.NobodyUID
	grafanaUID    = 10472
	// The files Prometheus reads: its configuration and the rule files.
	prometheusConfDir  = "/etc/prometheus"
	prometheusRulesDir = "/etc/prometheus-rules"
)

// Args configures the monitoring tier.
type Args struct {
	tier.Context
	Environment  string
	Level        config.MonitoringLevel
	Prometheus   config.Prometheus
	Alertmanager config.Alertmanager
	Grafana      config.Grafana
	Images       config.Images
	// Volumes is where the StatefulSet's claims are made and whether they grow in place.
	Volumes kube.Volumes
	// GrafanaSecret is the secrets tier's Secret with Grafana's admin user and password.
	GrafanaSecret pulumi.StringInput
	// GrafanaRootURL is Grafana's public URL through the edge (grafana.host), https://<host>/, for
	// its links and redirects; empty: Grafana is not exposed.
	GrafanaRootURL string
	// InfluxDBURL and InfluxDBSecret are the InfluxDB tier's: Grafana queries it with the
	// read-only login in that Secret.
	InfluxDBURL    pulumi.StringInput
	InfluxDBSecret pulumi.StringInput
	// Workloads are every other tier's, from their plans: each one with a metrics port becomes a
	// scrape job.
	Workloads []kube.Workload
	// CertManagerMetrics is host:port of cert-manager's metrics when the platform's entry point
	// uses its certificate; empty otherwise.
	CertManagerMetrics string
	// AlertWebhookURL is where Alertmanager posts every alert; empty: no webhook.
	AlertWebhookURL string
	// QueueScaling is the workers' queue-depth scaling: in bundled mode, when enabled, the tier
	// runs the external metrics adapter that serves its metric, with MetricsAdapterReplicas pods.
	QueueScaling           config.QueueScaling
	MetricsAdapterReplicas int
	// Database says which PostgreSQL alerts are loaded: WAL archiving's where it is on, a
	// standby's replay instead of a primary's.
	Database Database
	// SLO is the API's objectives: burn-rate alerts and the API dashboard's budget panels.
	SLO config.SLO
	// Operator leaves the monitoring stack to the cluster's Prometheus Operator: the tier is
	// then a PodMonitor per scrape job and a PrometheusRule.
	Operator bool

	// NodeNamespace is the node agents' namespace (node-exporter, the log collector); empty when
	// the stack runs none.
	NodeNamespace string
	// NodeWorkloads are the node agents' workloads, from their plan: each one with a metrics port
	// is a scrape job of its pods in NodeNamespace (a PodMonitor there in operator mode), its
	// series labelled with their node. They are not in Workloads.
	NodeWorkloads []kube.Workload
	// NodeExporter says node-exporter runs: the node alerts are loaded and the Infrastructure
	// dashboard has node panels.
	NodeExporter bool
	// LogAlerts says the log collector runs, counting the edge's failed authentications: the
	// authentication-failure alert is loaded.
	LogAlerts bool
	// NodeNamespaceReady are what the objects this tier declares in NodeNamespace (Prometheus's
	// Role there, the PodMonitors in operator mode) wait for: that namespace's Namespace object.
	NodeNamespaceReady []pulumi.Resource
	// LogStoreURL is the bundled log store's URL (VictoriaLogs,
	// http://pynomaly-logs.<namespace>.svc:9428): Grafana gets a logs datasource and the API
	// dashboard the platform's error lines. Empty: no logs in Grafana.
	LogStoreURL string
}

// nodeAgents are the node agents' alerts and scrape jobs Args asks for.
func (a *Args) nodeAgents() NodeAgents {
	return NodeAgents{Namespace: a.NodeNamespace, NodeExporter: a.NodeExporter, LogAlerts: a.LogAlerts}
}

// sources are what the dashboards show besides the platform's own series.
func (a *Args) sources() Sources {
	return Sources{NodeExporter: a.NodeExporter, Logs: a.LogStoreURL != ""}
}

// checkNodeAgents refuses node agents' jobs or alerts without their namespace: their series
// would be looked for where they are not.
func (a *Args) checkNodeAgents() error {
	if a.NodeNamespace == "" && (a.NodeExporter || a.LogAlerts || len(NodeTargets("", a.NodeWorkloads)) > 0) {
		return fmt.Errorf("monitoring: node agents' scrape jobs or alerts without NodeNamespace")
	}
	return nil
}

// alertRules are the rules the tier loads for the platform's namespace ns.
func (a *Args) alertRules(ns string) []AlertRule {
	return append(AlertRules(ns, a.Database, a.SLO), NodeAlertRules(ns, a.nodeAgents())...)
}

// Monitoring is the seed's data-science-monitoring.yaml: Prometheus (scrape jobs generated from
// the workload model, the platform's alert rules), Grafana, and at the full and comprehensive
// levels Alertmanager and kube-state-metrics.
type Monitoring struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	PrometheusURL pulumi.StringOutput `pulumi:"prometheusUrl"`
	GrafanaURL    pulumi.StringOutput `pulumi:"grafanaUrl"`
	// AlertmanagerURL is empty at the basic level.
	AlertmanagerURL pulumi.StringOutput `pulumi:"alertmanagerUrl"`
	// Targets are the scrape jobs of the platform's pods, the monitoring tier's own included.
	Targets []ScrapeTarget
}

// New creates the monitoring tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	c := &Monitoring{}
	if err := ctx.RegisterComponentResource(tier.Type("Monitoring"), name, c, opts...); err != nil {
		return nil, err
	}
	if err := args.checkNodeAgents(); err != nil {
		return nil, err
	}
	ns := args.Namespace
	if args.Operator {
		c.Targets = append(ScrapeTargets(args.Workloads), NodeTargets(args.NodeNamespace, args.NodeWorkloads)...)
		empty := pulumi.String("").ToStringOutput()
		c.PrometheusURL, c.GrafanaURL, c.AlertmanagerURL = empty, empty, empty
		if err := c.operatorObjects(ctx, args); err != nil {
			return nil, err
		}
		c.Keep(pulumi.Map{})
		return c, nil
	}
	svcURL := func(svc string, port int) pulumi.StringOutput {
		return pulumi.Sprintf("http://%s:%d", kube.Host(svc, ns), port)
	}
	var err error
	if c.Targets, err = scrapeJobs(args); err != nil {
		return nil, err
	}
	if err := c.prometheus(ctx, args); err != nil {
		return nil, err
	}
	c.PrometheusURL = svcURL(PrometheusName, PrometheusPort)
	if err := c.grafana(ctx, args, c.PrometheusURL); err != nil {
		return nil, err
	}
	// In the order of the plan: Prometheus, Grafana, then Alertmanager and kube-state-metrics.
	c.AlertmanagerURL = pulumi.String("").ToStringOutput()
	if args.Level.Alerting() {
		if err := c.alertmanager(ctx, args); err != nil {
			return nil, err
		}
		if err := c.kubeStateMetrics(ctx, args); err != nil {
			return nil, err
		}
		c.AlertmanagerURL = svcURL(AlertmanagerName, AlertmanagerPort)
	}
	if args.QueueScaling.Enabled {
		if err := c.metricsAdapter(ctx, args, c.PrometheusURL); err != nil {
			return nil, err
		}
	}
	c.GrafanaURL = svcURL(GrafanaName, GrafanaPort)
	c.Keep(pulumi.Map{
		"prometheusUrl": c.PrometheusURL, "grafanaUrl": c.GrafanaURL, "alertmanagerUrl": c.AlertmanagerURL,
	})
	return c, nil
}

// Plan is the monitoring tier before it is declared: nothing in operator mode (the cluster's
// operator runs the stack); else Prometheus and Grafana, from the full level on Alertmanager and
// kube-state-metrics, and with queue scaling the metrics adapter. Its order is that of the tier's
// own scrape jobs.
func Plan(args *Args) (tier.Plan, error) {
	if args.Operator {
		return tier.Plan{}, nil
	}
	p := tier.Plan{Objects: []kube.Object{prometheusStatefulSet(args, nil, nil, nil), grafanaDeployment(args, nil, nil)}}
	if args.Level.Alerting() {
		p.Objects = append(p.Objects, alertmanagerStatefulSet(args, nil, nil), kubeStateMetricsDeployment(args))
	}
	if args.QueueScaling.Enabled {
		p.Objects = append(p.Objects, metricsAdapterDeployment(args, nil, nil))
	}
	return p, nil
}

// scrapeJobs are those of every other tier's workloads with metrics, the node agents', then the
// monitoring tier's own, as its plan has them.
func scrapeJobs(args *Args) ([]ScrapeTarget, error) {
	own, err := Plan(args)
	if err != nil {
		return nil, err
	}
	jobs := append(ScrapeTargets(args.Workloads), NodeTargets(args.NodeNamespace, args.NodeWorkloads)...)
	for _, w := range own.Workloads() {
		if w.Metrics != nil {
			jobs = append(jobs, ownTarget(w))
		}
	}
	return jobs, nil
}

// ownTarget is the scrape job of one of the monitoring tier's own workloads.
func ownTarget(w kube.Workload) ScrapeTarget {
	t := ScrapeTarget{Job: w.Name, Selector: w.Selector, Port: w.Metrics.Port, Path: w.Metrics.Path}
	// kube-state-metrics reports other objects: their namespace and pod labels are the ones
	// that matter, not its own pod's.
	t.HonorLabels = w.Component == "kube-state-metrics"
	return t
}

// alertmanagerPeers are host:port of every Alertmanager member in namespace ns, through the
// headless Service.
func alertmanagerPeers(replicas int, ns string, port int) []string {
	var out []string
	for i := range replicas {
		out = append(out, fmt.Sprintf("%s-%d.%s.%s.svc:%d", AlertmanagerName, i, AlertmanagerHeadless, ns, port))
	}
	return out
}

// prometheus declares Prometheus: its access to the Kubernetes API, its configuration and
// rules, the StatefulSet and its Services.
func (c *Monitoring) prometheus(ctx *pulumi.Context, args *Args) error {
	ns := args.Namespace
	bindings, err := prometheusRBAC(ctx, c, ns)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(c.Targets, func(t ScrapeTarget) bool { return t.Namespace != "" }) {
		b, err := prometheusNodeAgentsRBAC(ctx, c, ns, args.NodeNamespace, args.NodeNamespaceReady)
		if err != nil {
			return err
		}
		bindings = append(bindings, b)
	}
	targets := slices.Clone(c.Targets)
	conf := pulumi.All(ns).ApplyT(func(v []any) string {
		site := PrometheusSite{
			Namespace: v[0].(string), NodeNamespace: args.NodeNamespace, Targets: targets, Kubelets: true, Environment: args.Environment,
			CertManager: args.CertManagerMetrics,
			RuleFiles:   []string{prometheusRulesDir + "/*.yml"},
		}
		if args.Level.Alerting() {
			site.Alertmanagers = alertmanagerPeers(args.Alertmanager.Replicas, site.Namespace, AlertmanagerPort)
		}
		return PrometheusConf(site)
	}).(pulumi.StringOutput)
	// Auto-named: a change rolls the pods (no reloader sidecar to keep in step).
	cm, err := corev1.NewConfigMap(ctx, PrometheusName, &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, "prometheus"),
		Data:     pulumi.StringMap{"prometheus.yml": conf},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("monitoring: prometheus configmap: %w", err)
	}
	rules, err := corev1.NewConfigMap(ctx, PrometheusName+"-rules", &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, "prometheus"),
		Data:     pulumi.StringMap{"pynomaly.yml": rulesFile(ns, args)},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("monitoring: prometheus rules: %w", err)
	}
	pod := prometheusPod(args, cm.Metadata.Name(), rules.Metadata.Name())
	headless, err := kube.NewService(ctx, c, ns, kube.Service{
		Name: PrometheusHeadlessService, Component: "prometheus", Selector: pod.Selector(), Headless: true,
		Ports: corev1.ServicePortArray{kube.NamedServicePort("http", PrometheusPort)},
	})
	if err != nil {
		return err
	}
	_, w, err := kube.NewStatefulSet(ctx, c, ns, prometheusStatefulSet(args, cm.Metadata.Name(), rules.Metadata.Name(), headless.Metadata.Name().Elem()),
		kube.After(bindings))
	if err != nil {
		return err
	}
	c.Add(w)
	_, err = kube.NewService(ctx, c, ns, kube.Service{
		Name: PrometheusName, Component: "prometheus", Selector: pod.Selector(),
		Ports: corev1.ServicePortArray{kube.NamedServicePort("http", PrometheusPort)},
	})
	return err
}

// prometheusStatefulSet is Prometheus's StatefulSet; configMap, rules and headless are its
// ConfigMaps' and headless Service's names once declared.
func prometheusStatefulSet(args *Args, configMap, rules pulumi.StringPtrInput, headless pulumi.StringInput) kube.StatefulSet {
	return kube.StatefulSet{
		Name: PrometheusName, Replicas: args.Prometheus.Replicas, ServiceName: headless,
		PodManagementPolicy: "Parallel", Pod: prometheusPod(args, configMap, rules),
		Claim: kube.Claim{Name: tier.DataClaimTemplate, Size: args.Prometheus.StorageSize}, Volumes: args.Volumes,
	}
}

// prometheusPod is Prometheus on a claim, with its own service account (it discovers pods and
// nodes through the API server).
func prometheusPod(args *Args, configMap, rules pulumi.StringPtrInput) kube.Pod {
	ready := func() *corev1.ProbeArgs { return kube.HTTPGet("/-/ready", PrometheusPort) }
	startup := ready()
	// Replaying a large write-ahead log after a restart takes minutes.
	startup.PeriodSeconds, startup.FailureThreshold = pulumi.Int(10), pulumi.Int(60)
	prom := kube.Container{
		Name: "prometheus", Image: args.Images.Prometheus,
		Command: []string{"/bin/prometheus",
			"--config.file=" + prometheusConfDir + "/prometheus.yml",
			"--storage.tsdb.path=/prometheus",
			"--storage.tsdb.retention.time=" + args.Prometheus.Retention,
			fmt.Sprintf("--web.listen-address=:%d", PrometheusPort),
		},
		Ports:          []kube.Port{{Name: "http", Port: PrometheusPort}},
		Resources:      args.Prometheus.Resources,
		StartupProbe:   startup,
		ReadinessProbe: kube.Readiness(ready()),
		LivenessProbe:  kube.Liveness(kube.HTTPGet("/-/healthy", PrometheusPort)),
		Mounts: corev1.VolumeMountArray{
			kube.ReadOnlyMount("config", prometheusConfDir), kube.ReadOnlyMount("rules", prometheusRulesDir),
			kube.Mount("data", "/prometheus"),
		},
	}
	spread := kube.NoSpread
	if args.Prometheus.Replicas > 1 {
		spread = kube.PreferSpread
	}
	pod := kube.Pod{
		Component: "prometheus", UID: monitoringUID, GID: monitoringUID, APIClient: "prometheus", Spread: spread,
		Metrics:    &kube.Metrics{Port: PrometheusPort, Path: "/metrics"},
		Containers: []kube.Container{prom},
		Volumes:    corev1.VolumeArray{kube.ConfigMapVolume("config", configMap), kube.ConfigMapVolume("rules", rules)},
	}
	tier.MountCA(&pod, args.TLS)
	return pod
}

// rulesFile is the platform's rule file for the namespace.
func rulesFile(ns pulumi.StringInput, args *Args) pulumi.StringOutput {
	return ns.ToStringOutput().ApplyT(func(n string) string { return RulesFile(args.alertRules(n), true) }).(pulumi.StringOutput)
}
