// Package edge is the edge tier: Nginx in front of the API (rate limits, compression,
// nginxconf.go) and, where grafana.host names it, Grafana; the entry point from outside (an
// Ingress or Gateway API objects, entry.go) and its certificate (tls.go).
package edge

import (
	"fmt"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names and ports of the edge tier.
const (
	NginxName = "pynomaly-nginx"
	// Component is the edge's pods' component label.
	Component        = "nginx"
	NginxServiceName = "pynomaly-nginx-service"
	// NginxServicePort is the seed's (port-forward svc/pynomaly-nginx-service 8080:80).
	NginxServicePort  = 80
	NginxPort         = 8080
	NginxStatusPort   = 8081
	NginxExporterPort = 9113
	NginxHealthPath   = "/health"
	// nginxUID is the user and group Nginx and its exporter run as. The unprivileged image
	// runs as any user (its writable paths are /tmp, an emptyDir here); 10000 and more is a
	// range no account of the node uses.
	nginxUID = 10101
	// nginxShutdownDelay keeps a stopping pod serving while its endpoint is removed everywhere.
	nginxShutdownDelay = 5
	nginxConfDir       = "/etc/nginx/pynomaly"
)

// Args configures the edge tier.
type Args struct {
	tier.Context
	Settings config.Edge
	Image    string
	Exporter string
	// APIService and APIPort are what Nginx proxies to. nginx resolves the Service's name when
	// it starts; the configuration is made from the Service's output, so the engine creates the
	// Service first.
	APIService pulumi.StringInput
	APIPort    int
	// Unpublished keeps every external-dns installation off the entry point's hosts: a standby
	// stack's (postgres.standby), whose writers are stopped, until it is promoted.
	Unpublished bool
	// Grafana is Grafana's public host (grafana.host) and its Service; no Host: not exposed.
	Grafana Grafana
}

// Grafana is Grafana behind the edge: the entry point brings its host to Nginx (objects of their
// own, which no rate limit policy names), and Nginx proxies that host to the Service, without the
// per-client limit. nginx resolves the Service's name when it starts: the monitoring tier's, which
// exists whenever the host is set (validation requires monitoringMode bundled).
type Grafana struct {
	// Host is the public name; empty: Grafana is not exposed.
	Host string
	// Service and Port are Grafana's Service in the namespace.
	Service string
	Port    int
}

// hosts are every public name of the entry point: the API's, then Grafana's.
func (a *Args) hosts() []string {
	if a.Grafana.Host == "" {
		return a.Settings.Hosts
	}
	return append(slices.Clip(a.Settings.Hosts), a.Grafana.Host)
}

// Edge is the seed's data-science-nginx.yaml and its Ingress: Nginx (per client rate limit,
// compression, security headers) in front of the API, its Service, and the entry point from
// outside (an Ingress, or a Gateway API Gateway and HTTPRoute) with a cert-manager certificate.
type Edge struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	// URL is where clients reach the API through the edge: https://<first host> with an entry
	// point, the Service's cluster address without one.
	URL pulumi.StringOutput `pulumi:"url"`
	// Hosts and TLSSecretName are the public names and the certificate's Secret ("" without TLS).
	Hosts         []string
	TLSSecretName string
}

// New creates the edge tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Edge, error) {
	c := &Edge{Hosts: args.Settings.Hosts}
	if err := ctx.RegisterComponentResource(tier.Type("Edge"), name, c, opts...); err != nil {
		return nil, err
	}
	svc, err := c.nginx(ctx, args)
	if err != nil {
		return nil, err
	}
	c.ServiceName = svc.Metadata.Name().Elem()
	c.URL = pulumi.Sprintf("http://%s.%s.svc:%d", c.ServiceName, args.Namespace, NginxServicePort)
	if err := c.entry(ctx, args); err != nil {
		return nil, err
	}
	c.Keep(pulumi.Map{"serviceName": c.ServiceName, "url": c.URL})
	return c, nil
}

// nginx declares the Nginx Deployment, its configuration and its Service.
func (c *Edge) nginx(ctx *pulumi.Context, args *Args) (*corev1.Service, error) {
	e, ns := args.Settings, args.Namespace
	conf := pulumi.All(args.APIService, ns).ApplyT(func(v []any) string {
		site := NginxSite{
			Upstream: fmt.Sprintf("%s.%s.svc:%d", v[0], v[1], args.APIPort),
			Port:     NginxPort, StatusPort: NginxStatusPort, TempDir: "/tmp", HSTS: e.TLSOn(),
		}
		if g := args.Grafana; g.Host != "" {
			site.GrafanaHost, site.GrafanaUpstream = g.Host, fmt.Sprintf("%s.%s.svc:%d", g.Service, v[1], g.Port)
		}
		return NginxConf(e, site)
	}).(pulumi.StringOutput)
	// Auto-named: a configuration change rolls the pods.
	cm, err := corev1.NewConfigMap(ctx, NginxName, &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, "nginx"),
		Data:     pulumi.StringMap{"nginx.conf": conf},
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("edge: configmap: %w", err)
	}
	d := nginxDeployment(args, cm.Metadata.Name())
	pod := d.Pod
	_, w, err := kube.NewDeployment(ctx, c, ns, d)
	if err != nil {
		return nil, err
	}
	c.Add(w)
	return kube.NewService(ctx, c, ns, kube.Service{
		Name: NginxServiceName, Component: "nginx", Selector: pod.Selector(),
		Ports: corev1.ServicePortArray{
			&corev1.ServicePortArgs{Name: pulumi.String("http"), Port: pulumi.Int(NginxServicePort), TargetPort: pulumi.String("http")},
			kube.NamedServicePort("metrics", NginxExporterPort),
		},
		// Each replica counts a client's requests in its own memory; sending a client to the
		// same replica every time keeps its budget whole (see entryAffinity for the entry
		// points, which pick pods themselves).
		ClientIPAffinity: true,
		Annotations:      pod.Metrics.Annotations(),
	})
}

// Plan is the edge tier before it is declared: the Nginx Deployment (the entry point runs no pods).
func Plan(args *Args) (tier.Plan, error) {
	return tier.Plan{Objects: []kube.Object{nginxDeployment(args, nil)}}, nil
}

// nginxDeployment is Nginx's Deployment; configMap is its configuration's name once declared.
func nginxDeployment(args *Args, configMap pulumi.StringPtrInput) kube.Deployment {
	return kube.Deployment{
		Name: NginxName, Pod: nginxPod(args, configMap), Replicas: args.Settings.Replicas,
		MaxSurge: pulumi.Int(1), RevisionHistoryLimit: 5, DisruptionBudget: kube.OneAtATime,
	}
}

// nginxPod is Nginx and its exporter: the unprivileged image on a non-root port, a read-only
// root with /tmp for the pid file and buffers, spread over nodes and zones as a preference.
func nginxPod(args *Args, configMap pulumi.StringPtrInput) kube.Pod {
	e := args.Settings
	health := func() *corev1.ProbeArgs { return kube.HTTPGet(NginxHealthPath, NginxPort) }
	nginx := kube.Container{
		Name: "nginx", Image: args.Image,
		// -e stderr: the compiled-in error log path is not writable, and logs belong on stderr.
		Command:        []string{"nginx", "-e", "stderr", "-c", nginxConfDir + "/nginx.conf"},
		Ports:          []kube.Port{{Name: "http", Port: NginxPort}},
		Resources:      e.Resources,
		ReadinessProbe: kube.Readiness(health()),
		LivenessProbe:  kube.Alive(NginxPort),
		// The image stops nginx with SIGQUIT (a graceful shutdown that finishes in-flight
		// requests); the sleep lets endpoint removal reach every entry point first.
		Lifecycle: &corev1.LifecycleArgs{PreStop: &corev1.LifecycleHandlerArgs{
			Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(nginxShutdownDelay)},
		}},
		Mounts: corev1.VolumeMountArray{kube.ReadOnlyMount("config", nginxConfDir), kube.Mount("tmp", "/tmp")},
	}
	exporter := kube.Container{
		Name: "exporter", Image: args.Exporter,
		Command: []string{"/usr/bin/nginx-prometheus-exporter",
			fmt.Sprintf("--nginx.scrape-uri=http://127.0.0.1:%d/stub_status", NginxStatusPort),
			fmt.Sprintf("--web.listen-address=:%d", NginxExporterPort)},
		Ports:          []kube.Port{{Name: "metrics", Port: NginxExporterPort}},
		Resources:      tier.SidecarResources,
		ReadinessProbe: kube.Readiness(kube.HTTPGet("/metrics", NginxExporterPort)),
		LivenessProbe:  kube.Alive(NginxExporterPort),
	}
	return kube.Pod{
		Component: "nginx", UID: nginxUID, GID: nginxUID, Spread: kube.PreferSpread,
		Metrics: &kube.Metrics{Port: NginxExporterPort, Path: "/metrics"},
		// The delay, then the longest a proxied request may still be waiting for the API.
		GracePeriodSeconds: nginxShutdownDelay + e.Timeouts.ReadSeconds + 10,
		Containers:         []kube.Container{nginx, exporter},
		Volumes:            corev1.VolumeArray{kube.ConfigMapVolume("config", configMap), kube.EmptyDir("tmp", false)},
	}
}
