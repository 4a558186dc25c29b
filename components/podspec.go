package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

// Small builders every pod spec of the platform is made of, so that each container gets the
// same security context, resources, probes and placement rules, and they are written once.

// podSecurity is the pod-level context every pod runs with: non-root with a fixed user and
// group, volumes group-owned by fsGroup, and the runtime's default seccomp profile. Together
// with containerSecurity it meets Pod Security "restricted".
func podSecurity(uid, gid int) *corev1.PodSecurityContextArgs {
	return &corev1.PodSecurityContextArgs{
		RunAsNonRoot:        pulumi.Bool(true),
		RunAsUser:           pulumi.Int(uid),
		RunAsGroup:          pulumi.Int(gid),
		FsGroup:             pulumi.Int(gid),
		FsGroupChangePolicy: pulumi.String("OnRootMismatch"),
		SeccompProfile:      &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

// containerSecurity drops every capability and forbids privilege escalation. readOnlyRoot is
// true wherever the image allows it (the seed: "read-only root filesystems where possible").
func containerSecurity(readOnlyRoot bool) *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(readOnlyRoot),
		RunAsNonRoot:             pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
		SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

// resources turns settings into a container's requests and limits.
func resources(r config.Resources) *corev1.ResourceRequirementsArgs {
	return &corev1.ResourceRequirementsArgs{
		Requests: pulumi.StringMap{"cpu": pulumi.String(r.CPURequest), "memory": pulumi.String(r.MemoryRequest)},
		Limits:   pulumi.StringMap{"cpu": pulumi.String(r.CPULimit), "memory": pulumi.String(r.MemoryLimit)},
	}
}

// Probe timings. Readiness reacts fast (a pod leaves its Service within ~30 s); liveness waits
// long enough that a slow start or a busy moment never turns into a restart loop.
func readiness(h *corev1.ProbeArgs) *corev1.ProbeArgs {
	h.PeriodSeconds, h.TimeoutSeconds, h.FailureThreshold = pulumi.Int(10), pulumi.Int(5), pulumi.Int(3)
	return h
}

func liveness(h *corev1.ProbeArgs) *corev1.ProbeArgs {
	h.InitialDelaySeconds, h.PeriodSeconds, h.TimeoutSeconds, h.FailureThreshold =
		pulumi.Int(30), pulumi.Int(20), pulumi.Int(5), pulumi.Int(6)
	return h
}

func httpGet(path string, port int) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.Int(port)}}
}

func tcpSocket(port int) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{TcpSocket: &corev1.TCPSocketActionArgs{Port: pulumi.Int(port)}}
}

func execCommand(command ...string) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{Exec: &corev1.ExecActionArgs{Command: pulumi.ToStringArray(command)}}
}

// secretEnv is an environment variable read from a Secret: the pod spec names the Secret and
// key, never the value.
func secretEnv(name string, secret pulumi.StringInput, key string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{
		Name: pulumi.String(name),
		ValueFrom: &corev1.EnvVarSourceArgs{SecretKeyRef: &corev1.SecretKeySelectorArgs{
			Name: secret, Key: pulumi.String(key),
		}},
	}
}

func fieldEnv(name, fieldPath string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{
		Name:      pulumi.String(name),
		ValueFrom: &corev1.EnvVarSourceArgs{FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String(fieldPath)}},
	}
}

func env(name, value string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{Name: pulumi.String(name), Value: pulumi.String(value)}
}

// spread places replicas on different nodes and zones. strict (prod) makes the node rule
// required and the zone rule DoNotSchedule: a lost node or zone then never takes two replicas.
// Elsewhere both are preferences, so a small cluster still schedules everything.
func spread(component string, strict bool) (*corev1.AffinityArgs, corev1.TopologySpreadConstraintArray) {
	selector := &metav1.LabelSelectorArgs{MatchLabels: selectorLabels(component)}
	term := &corev1.PodAffinityTermArgs{LabelSelector: selector, TopologyKey: pulumi.String("kubernetes.io/hostname")}
	anti := &corev1.PodAntiAffinityArgs{}
	whenUnsatisfiable := "ScheduleAnyway"
	if strict {
		anti.RequiredDuringSchedulingIgnoredDuringExecution = corev1.PodAffinityTermArray{term}
		whenUnsatisfiable = "DoNotSchedule"
	} else {
		anti.PreferredDuringSchedulingIgnoredDuringExecution = corev1.WeightedPodAffinityTermArray{
			&corev1.WeightedPodAffinityTermArgs{Weight: pulumi.Int(100), PodAffinityTerm: term},
		}
	}
	return &corev1.AffinityArgs{PodAntiAffinity: anti}, corev1.TopologySpreadConstraintArray{
		&corev1.TopologySpreadConstraintArgs{
			MaxSkew:           pulumi.Int(1),
			TopologyKey:       pulumi.String("topology.kubernetes.io/zone"),
			WhenUnsatisfiable: pulumi.String(whenUnsatisfiable),
			LabelSelector:     selector,
		},
	}
}

// emptyDir is a scratch volume; memory-backed ones (for /dev/shm) count against the limit.
func emptyDir(name string, memory bool) *corev1.VolumeArgs {
	src := &corev1.EmptyDirVolumeSourceArgs{}
	if memory {
		src.Medium = pulumi.String("Memory")
	}
	return &corev1.VolumeArgs{Name: pulumi.String(name), EmptyDir: src}
}

func mount(name, path string) *corev1.VolumeMountArgs {
	return &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path)}
}

func readOnlyMount(name, path string) *corev1.VolumeMountArgs {
	return &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path), ReadOnly: pulumi.Bool(true)}
}

// claimTemplate is a StatefulSet's per-replica claim on the platform's storage class.
func claimTemplate(ctx *pulumi.Context, name, component, size string, class pulumi.StringInput) *corev1.PersistentVolumeClaimTypeArgs {
	return &corev1.PersistentVolumeClaimTypeArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: labels(ctx, component)},
		Spec: &corev1.PersistentVolumeClaimSpecArgs{
			AccessModes:      pulumi.StringArray{pulumi.String("ReadWriteOnce")},
			StorageClassName: class,
			Resources:        &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(size)}},
		},
	}
}

// statefulSetRetention keeps claims when a StatefulSet is deleted or scaled down: data is only
// ever removed by a person.
func statefulSetRetention() *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs {
	return &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs{
		WhenDeleted: pulumi.String("Retain"),
		WhenScaled:  pulumi.String("Retain"),
	}
}

// service is a Service of the platform. A headless one (a StatefulSet's) has no cluster IP and
// publishes pods before they are ready, so peers find each other while they start.
func service(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, name, component string, selector pulumi.StringMap, ports corev1.ServicePortArray, headless bool) (*corev1.Service, error) {
	spec := &corev1.ServiceSpecArgs{Selector: selector, Ports: ports}
	if headless {
		spec.ClusterIP = pulumi.String("None")
		spec.PublishNotReadyAddresses = pulumi.Bool(true)
	}
	svc, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{Metadata: objectMeta(ctx, ns, name, component), Spec: spec}, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("%s: service %s: %w", component, name, err)
	}
	return svc, nil
}

// servicePort exposes port under name, on the same container port.
func servicePort(name string, port int) *corev1.ServicePortArgs {
	return &corev1.ServicePortArgs{Name: pulumi.String(name), Port: pulumi.Int(port), TargetPort: pulumi.Int(port)}
}
