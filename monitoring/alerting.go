package monitoring

import (
	"fmt"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// alertmanager declares Alertmanager: its configuration, a StatefulSet whose members find each
// other through the headless Service (one cluster: a silence or notification is shared), and
// the Service Grafana and people use. Prometheus sends every alert to every member.
func (c *Monitoring) alertmanager(ctx *pulumi.Context, args *Args) error {
	ns := args.Namespace
	// The configuration holds the webhook's URL: a Secret, secret in the state too, auto-named
	// so that a change rolls the members.
	conf := pulumi.ToSecret(pulumi.String(args.AlertWebhookURL)).(pulumi.StringOutput).ApplyT(func(url string) string {
		return AlertmanagerConf(args.Alertmanager.Receivers, url)
	}).(pulumi.StringOutput)
	secret, err := corev1.NewSecret(ctx, AlertmanagerName, &corev1.SecretArgs{
		Metadata:   kube.AutoNamedMeta(ctx, ns, "alertmanager"),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"alertmanager.yml": conf},
	}, pulumi.Parent(c), pulumi.AdditionalSecretOutputs([]string{"data", "stringData"}))
	if err != nil {
		return fmt.Errorf("monitoring: alertmanager configuration: %w", err)
	}
	pod := alertmanagerPod(args, secret.Metadata.Name().Elem())
	headless, err := kube.NewService(ctx, c, ns, kube.Service{
		Name: AlertmanagerHeadless, Component: "alertmanager", Selector: pod.Selector(), Headless: true,
		Ports: corev1.ServicePortArray{
			kube.NamedServicePort("http", AlertmanagerPort), kube.NamedServicePort("cluster", AlertmanagerClusterPort),
		},
	})
	if err != nil {
		return err
	}
	_, w, err := kube.NewStatefulSet(ctx, c, ns, alertmanagerStatefulSet(args, secret.Metadata.Name().Elem(), headless.Metadata.Name().Elem()))
	if err != nil {
		return err
	}
	c.Add(w)
	_, err = kube.NewService(ctx, c, ns, kube.Service{
		Name: AlertmanagerName, Component: "alertmanager", Selector: pod.Selector(),
		Ports: corev1.ServicePortArray{kube.NamedServicePort("http", AlertmanagerPort)},
	})
	return err
}

// alertmanagerStatefulSet is Alertmanager's StatefulSet; configSecret and headless are its
// configuration's and headless Service's names once declared.
func alertmanagerStatefulSet(args *Args, configSecret, headless pulumi.StringInput) kube.StatefulSet {
	return kube.StatefulSet{
		Name: AlertmanagerName, Replicas: args.Alertmanager.Replicas, ServiceName: headless,
		PodManagementPolicy: "Parallel", Pod: alertmanagerPod(args, configSecret),
		Claim: kube.Claim{Name: tier.DataClaimTemplate, Size: args.Alertmanager.StorageSize}, Volumes: args.Volumes,
	}
}

// alertmanagerPod is one Alertmanager member. With one replica clustering is off; with more,
// every member is named as a peer ($(POD_NAMESPACE) is expanded by the kubelet).
func alertmanagerPod(args *Args, configSecret pulumi.StringInput) kube.Pod {
	a := args.Alertmanager
	cmd := []string{"/bin/alertmanager",
		"--config.file=/etc/alertmanager/alertmanager.yml",
		"--storage.path=/alertmanager",
		fmt.Sprintf("--web.listen-address=:%d", AlertmanagerPort),
	}
	ports := []kube.Port{{Name: "http", Port: AlertmanagerPort}}
	if a.Replicas > 1 {
		cmd = append(cmd, fmt.Sprintf("--cluster.listen-address=0.0.0.0:%d", AlertmanagerClusterPort))
		for _, peer := range alertmanagerPeers(a.Replicas, "$(POD_NAMESPACE)", AlertmanagerClusterPort) {
			cmd = append(cmd, "--cluster.peer="+peer)
		}
		ports = append(ports, kube.Port{Name: "cluster", Port: AlertmanagerClusterPort})
	} else {
		cmd = append(cmd, "--cluster.listen-address=")
	}
	am := kube.Container{
		Name: "alertmanager", Image: args.Images.Alertmanager, Command: cmd,
		Env:            corev1.EnvVarArray{kube.FieldEnv("POD_NAMESPACE", "metadata.namespace")},
		Ports:          ports,
		Resources:      a.Resources,
		ReadinessProbe: kube.Readiness(kube.HTTPGet("/-/ready", AlertmanagerPort)),
		LivenessProbe:  kube.Liveness(kube.HTTPGet("/-/healthy", AlertmanagerPort)),
		Mounts: corev1.VolumeMountArray{
			kube.ReadOnlyMount("config", "/etc/alertmanager"), kube.Mount("data", "/alertmanager"),
		},
	}
	volumes := corev1.VolumeArray{&corev1.VolumeArgs{
		Name: pulumi.String("config"), Secret: &corev1.SecretVolumeSourceArgs{SecretName: configSecret},
	}}
	if name := a.Receivers.SecretName; name != "" && a.Receivers.Any() {
		// The receivers' URLs, keys and password, read by Alertmanager as files.
		am.Mounts = append(am.Mounts, kube.ReadOnlyMount("receivers", alertmanagerSecretsDir))
		volumes = append(volumes, &corev1.VolumeArgs{
			Name: pulumi.String("receivers"), Secret: &corev1.SecretVolumeSourceArgs{SecretName: pulumi.String(name)},
		})
	}
	spread := kube.NoSpread
	if a.Replicas > 1 {
		spread = kube.PreferSpread
	}
	return kube.Pod{
		Component: "alertmanager", UID: monitoringUID, GID: monitoringUID, Spread: spread,
		Metrics:    &kube.Metrics{Port: AlertmanagerPort, Path: "/metrics"},
		Containers: []kube.Container{am},
		Volumes:    volumes,
	}
}

// kubeStateMetricsResources are the kinds kube-state-metrics reports; its Role allows exactly
// these.
var kubeStateMetricsResources = []string{
	"cronjobs", "deployments", "horizontalpodautoscalers", "jobs", "persistentvolumeclaims",
	"poddisruptionbudgets", "pods", "replicasets", "services", "statefulsets",
}

// kubeStateMetrics declares kube-state-metrics, watching this namespace only: the pods' states,
// restarts and limits, jobs and cron jobs (backups), autoscalers.
func (c *Monitoring) kubeStateMetrics(ctx *pulumi.Context, args *Args) error {
	binding, err := kubeStateMetricsRBAC(ctx, c, args.Namespace)
	if err != nil {
		return err
	}
	_, w, err := kube.NewDeployment(ctx, c, args.Namespace, kubeStateMetricsDeployment(args), kube.After([]pulumi.Resource{binding}))
	if err != nil {
		return err
	}
	c.Add(w)
	return nil
}

// kubeStateMetricsDeployment is kube-state-metrics' Deployment: one replica.
func kubeStateMetricsDeployment(args *Args) kube.Deployment {
	return kube.Deployment{
		Name: KubeStateMetricsName, Pod: kubeStateMetricsPod(args), Replicas: 1,
		MaxSurge: pulumi.Int(1), DisruptionBudget: kube.OneAtATime,
	}
}

func kubeStateMetricsPod(args *Args) kube.Pod {
	ksm := kube.Container{
		Name: "kube-state-metrics", Image: args.Images.KubeStateMetrics,
		Command: []string{"/kube-state-metrics",
			"--namespaces=$(POD_NAMESPACE)",
			"--resources=" + strings.Join(kubeStateMetricsResources, ","),
			fmt.Sprintf("--port=%d", KubeStateMetricsPort),
			fmt.Sprintf("--telemetry-port=%d", kubeStateMetricsTelemetry),
		},
		Env: corev1.EnvVarArray{kube.FieldEnv("POD_NAMESPACE", "metadata.namespace")},
		Ports: []kube.Port{
			{Name: "metrics", Port: KubeStateMetricsPort}, {Name: "telemetry", Port: kubeStateMetricsTelemetry},
		},
		Resources:      kubeStateMetricsSize,
		ReadinessProbe: kube.Readiness(kube.HTTPGet("/readyz", kubeStateMetricsTelemetry)),
		LivenessProbe:  kube.Liveness(kube.HTTPGet("/livez", KubeStateMetricsPort)),
	}
	return kube.Pod{
		Component: "kube-state-metrics", UID: monitoringUID, GID: monitoringUID, APIClient: "kube-state-metrics",
		Metrics:    &kube.Metrics{Port: KubeStateMetricsPort, Path: "/metrics"},
		Containers: []kube.Container{ksm},
	}
}
