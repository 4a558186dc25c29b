package nodeagents

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/logging"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// collectorDaemonSet runs the collector on every node, as root with every capability dropped:
// root owns the kubelet's log files, which are not world-readable. It reads the pod logs and
// writes nothing of the node's but its own directory. conf is its ConfigMap once declared.
func collectorDaemonSet(args *Args, conf pulumi.StringPtrInput) kube.DaemonSet {
	env := corev1.EnvVarArray{kube.FieldEnv("POD_IP", "status.podIP")}
	if args.Logging.Mode == config.LoggingExternal && args.Logging.External.SecretName != "" {
		env = append(env, kube.SecretEnv(authorizationEnv, pulumi.String(args.Logging.External.SecretName), config.AuthorizationKey))
	}
	return kube.DaemonSet{Name: CollectorName, Pod: kube.Pod{
		Component: CollectorComponent, APIClient: "collector",
		Metrics: &kube.Metrics{Port: logging.CollectorMetricsPort, Path: "/metrics"},
		Containers: []kube.Container{{
			Name: "collector", Image: args.Images.LogCollector,
			Command: []string{"/otelcol-contrib", "--config=/etc/otelcol/config.yaml"},
			Env:     env,
			Ports: []kube.Port{
				{Name: "metrics", Port: logging.CollectorMetricsPort}, {Name: "health", Port: logging.CollectorHealthPort},
			},
			Resources:      args.Logging.CollectorResources,
			ReadinessProbe: kube.Readiness(kube.HTTPGet("/", logging.CollectorHealthPort)),
			LivenessProbe:  kube.Alive(logging.CollectorHealthPort),
			Mounts:         corev1.VolumeMountArray{kube.ReadOnlyMount("config", "/etc/otelcol")},
		}},
		Volumes: corev1.VolumeArray{kube.ConfigMapVolume("config", conf)},
		Host: &kube.HostAccess{Root: true, Paths: []kube.HostPath{
			{Name: "pod-logs", Path: podLogDir, MountPath: podLogDir},
			{Name: "home", Path: collectorHome, MountPath: collectorHome, Writable: true},
		}},
	}}
}

// nodeExporter runs node-exporter on every node in the node's network and process namespaces,
// with the node's root read-only: what it reports is the node's, not a container's.
func nodeExporter(args *Args) kube.DaemonSet {
	return kube.DaemonSet{Name: NodeExporterName, Pod: kube.Pod{
		Component: NodeExporterComponent, UID: tier.NobodyUID, GID: tier.NobodyUID,
		Metrics: &kube.Metrics{Port: NodeExporterPort, Path: "/metrics"},
		Containers: []kube.Container{{
			Name: "node-exporter", Image: args.Images.NodeExporter,
			Command: []string{"/bin/node_exporter", "--path.rootfs=/host/root",
				"--web.listen-address=:9100",
				// The container runtime's and the kubelet's mounts are not the node's disks.
				`--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+)($|/)`},
			Ports:          []kube.Port{{Name: "metrics", Port: NodeExporterPort}},
			Resources:      args.NodeExporter.Resources,
			ReadinessProbe: kube.Readiness(kube.HTTPGet("/", NodeExporterPort)),
			LivenessProbe:  kube.Alive(NodeExporterPort),
		}},
		Host: &kube.HostAccess{Network: true, PID: true, Paths: []kube.HostPath{
			{Name: "root", Path: "/", MountPath: "/host/root", Propagation: "HostToContainer"},
		}},
	}}
}
