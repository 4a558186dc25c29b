package monitoring

import (
	"fmt"

	apiregistrationv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiregistration/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The external metrics adapter: prometheus-adapter serving the queue's depth from this
// namespace's Prometheus as the external metrics API the worker HPA reads.
const (
	MetricsAdapterName = "pynomaly-metrics-adapter"
	// MetricsAdapterPort is not the API server's 443 or 6443: the pods that may reach the API
	// server (network.kubernetesApi) thus cannot reach the adapter, which only the API server calls.
	MetricsAdapterPort = 4443
	// ExternalMetricsAPI is the APIService the adapter registers. A cluster has one: a second
	// stack (or KEDA) in the same cluster cannot register it again.
	ExternalMetricsAPI   = "v1beta1.external.metrics.k8s.io"
	metricsAdapterConfig = "/etc/adapter"
)

// AdapterRule is one external rule of prometheus-adapter: the series it discovers, the name it
// serves them under, and the query it answers with (a template over <<.Series>> and
// <<.LabelMatchers>>, which holds the HPA's namespace and metric selector).
type AdapterRule struct {
	SeriesQuery  string
	As           string
	MetricsQuery string
}

// QueueDepthRule serves the task list's length, which the queue Redis's exporter reports as
// redis_key_size{key="pynomaly-tasks"} on every member (replicas hold the same list, hence
// max), as the external metric metricName; the worker HPA selects it by that key label.
func QueueDepthRule(namespace, metricName string) AdapterRule {
	return AdapterRule{
		SeriesQuery:  fmt.Sprintf(`redis_key_size{namespace=%q,component="redis-queue",key=%q}`, namespace, redis.TaskQueueName),
		As:           metricName,
		MetricsQuery: `max by (key) (<<.Series>>{<<.LabelMatchers>>,component="redis-queue"})`,
	}
}

// MetricsAdapterConf is prometheus-adapter's config.yaml: external rules only (no custom or
// resource metrics: the adapter serves the one API it registers).
func MetricsAdapterConf(rules ...AdapterRule) string {
	type name struct {
		Matches string `yaml:"matches"`
		As      string `yaml:"as"`
	}
	type resource struct {
		Resource string `yaml:"resource"`
	}
	type resources struct {
		Overrides map[string]resource `yaml:"overrides"`
	}
	type rule struct {
		SeriesQuery  string    `yaml:"seriesQuery"`
		Resources    resources `yaml:"resources"`
		Name         name      `yaml:"name"`
		MetricsQuery string    `yaml:"metricsQuery"`
	}
	var out []rule
	for _, r := range rules {
		out = append(out, rule{
			SeriesQuery: r.SeriesQuery,
			// The namespace label is the namespace: the adapter matches it to the HPA's.
			Resources:    resources{Overrides: map[string]resource{"namespace": {Resource: "namespace"}}},
			Name:         name{Matches: "^redis_key_size$", As: r.As},
			MetricsQuery: r.MetricsQuery,
		})
	}
	return marshalYAML(struct {
		ExternalRules []rule `yaml:"externalRules"`
	}{out})
}

// metricsAdapter declares prometheus-adapter: its identity, configuration, Deployment and
// Service, and the APIService that makes the API server send external metrics requests to it,
// registered once the adapter is ready. With internal TLS it serves a certificate of the internal
// CA, which the API server verifies (caInjection); requests reach it only through the
// aggregator, which it authenticates.
func (c *Monitoring) metricsAdapter(ctx *pulumi.Context, args *Args, prometheusURL pulumi.StringOutput) error {
	ns := args.Namespace
	bindings, err := metricsAdapterRBAC(ctx, c, ns)
	if err != nil {
		return err
	}
	conf := ns.ToStringOutput().ApplyT(func(n string) string {
		return MetricsAdapterConf(QueueDepthRule(n, args.QueueScaling.MetricName))
	}).(pulumi.StringOutput)
	cm, err := corev1.NewConfigMap(ctx, MetricsAdapterName, &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, "metrics-adapter"),
		Data:     pulumi.StringMap{"config.yaml": conf},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("monitoring: metrics adapter configmap: %w", err)
	}
	planned := metricsAdapterDeployment(args, cm.Metadata.Name(), prometheusURL)
	pod := planned.Pod
	d, w, err := kube.NewDeployment(ctx, c, ns, planned, kube.After(bindings))
	if err != nil {
		return err
	}
	c.Add(w)
	svc, err := kube.NewService(ctx, c, ns, kube.Service{
		Name: MetricsAdapterName, Component: "metrics-adapter", Selector: pod.Selector(),
		Ports: corev1.ServicePortArray{kube.NamedServicePort("https", MetricsAdapterPort)},
	})
	if err != nil {
		return err
	}
	_, err = apiregistrationv1.NewAPIService(ctx, ExternalMetricsAPI, &apiregistrationv1.APIServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ExternalMetricsAPI), Labels: kube.Labels(ctx, "metrics-adapter"),
			Annotations: caInjection(ns, args.TLS)},
		Spec: &apiregistrationv1.APIServiceSpecArgs{
			Group: pulumi.String("external.metrics.k8s.io"), Version: pulumi.String("v1beta1"),
			GroupPriorityMinimum: pulumi.Int(100), VersionPriority: pulumi.Int(100),
			InsecureSkipTLSVerify: skipVerify(args.TLS),
			Service: &apiregistrationv1.ServiceReferenceArgs{
				Name: svc.Metadata.Name().Elem(), Namespace: ns, Port: pulumi.Int(MetricsAdapterPort),
			},
		},
	}, pulumi.Parent(c), kube.After([]pulumi.Resource{d}))
	if err != nil {
		return fmt.Errorf("monitoring: external metrics api service: %w", err)
	}
	return nil
}

// MetricsAdapterTLS is the adapter's Service, whose name the API server verifies when it
// forwards a request.
func MetricsAdapterTLS() tier.TLSServer {
	return tier.TLSServer{Name: MetricsAdapterName, Hosts: []string{MetricsAdapterName}}
}

// caInjection asks cert-manager's CA injector to write the internal CA into the APIService's
// caBundle, so the API server verifies the adapter's certificate (from the internal CA, for
// its Service's name). Without internal TLS the adapter signs its own certificate at start and
// the API server cannot verify it (as upstream's manifests do).
func caInjection(ns pulumi.StringInput, tls bool) pulumi.StringMapInput {
	if !tls {
		return nil
	}
	return pulumi.StringMap{"cert-manager.io/inject-ca-from": pulumi.Sprintf("%s/%s", ns, MetricsAdapterTLS().SecretName())}
}

// skipVerify is the APIService's insecureSkipTLSVerify: true only without internal TLS, and
// otherwise unset, since the API server drops a false and the next preview would show a change.
func skipVerify(tls bool) pulumi.BoolPtrInput {
	if tls {
		return nil
	}
	return pulumi.BoolPtr(true)
}

// metricsAdapterDeployment is the adapter's Deployment; configMap is its configuration's name
// once declared, prometheusURL Prometheus's Service.
func metricsAdapterDeployment(args *Args, configMap pulumi.StringPtrInput, prometheusURL pulumi.StringInput) kube.Deployment {
	return kube.Deployment{
		Name: MetricsAdapterName, Pod: metricsAdapterPod(args, configMap, prometheusURL), Replicas: args.MetricsAdapterReplicas,
		MaxSurge: pulumi.Int(1), DisruptionBudget: kube.OneAtATime,
	}
}

// metricsAdapterPod is prometheus-adapter with a read-only root: its generated serving
// certificate on an emptyDir. Its health endpoints need no credentials; its /metrics does (it
// is an aggregated API server), so it declares none.
func metricsAdapterPod(args *Args, configMap pulumi.StringPtrInput, prometheusURL pulumi.StringInput) kube.Pod {
	https := func(path string) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{HttpGet: &corev1.HTTPGetActionArgs{
			Path: pulumi.String(path), Port: pulumi.Int(MetricsAdapterPort), Scheme: pulumi.String("HTTPS"),
		}}
	}
	adapter := kube.Container{
		Name: "prometheus-adapter", Image: args.Images.PrometheusAdapter,
		Command: []string{"/adapter",
			fmt.Sprintf("--secure-port=%d", MetricsAdapterPort),
			"--cert-dir=/var/run/serving-cert",
			"--config=" + metricsAdapterConfig + "/config.yaml",
			"--prometheus-url=$(PROMETHEUS_URL)",
			"--metrics-relist-interval=1m",
		},
		Env:            corev1.EnvVarArray{kube.EnvOutput("PROMETHEUS_URL", prometheusURL)},
		Ports:          []kube.Port{{Name: "https", Port: MetricsAdapterPort}},
		Resources:      metricsAdapterSize,
		ReadinessProbe: kube.Readiness(https("/readyz")),
		LivenessProbe:  kube.Liveness(https("/livez")),
		Mounts: corev1.VolumeMountArray{
			kube.ReadOnlyMount("config", metricsAdapterConfig),
			kube.Mount("serving-cert", "/var/run/serving-cert"), kube.Mount("tmp", "/tmp"),
		},
	}
	spread := kube.NoSpread
	if args.MetricsAdapterReplicas > 1 {
		spread = kube.PreferSpread
	}
	pod := kube.Pod{
		Component: "metrics-adapter", UID: monitoringUID, GID: monitoringUID, APIClient: "prometheus-adapter", Spread: spread,
		Containers: []kube.Container{adapter},
		Volumes: corev1.VolumeArray{
			kube.ConfigMapVolume("config", configMap), kube.EmptyDir("serving-cert", false), kube.EmptyDir("tmp", false),
		},
	}
	if args.TLS {
		// The internal CA's certificate for its Service, instead of one it signs itself.
		pod.Containers[0].Command = append(pod.Containers[0].Command,
			"--tls-cert-file="+tier.ServerTLSMountPath+"/tls.crt", "--tls-private-key-file="+tier.ServerTLSMountPath+"/tls.key")
		tier.ServeTLS(&pod, MetricsAdapterTLS(), true, "prometheus-adapter")
	}
	return pod
}
