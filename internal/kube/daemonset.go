package kube

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DaemonSet is a node agent: one pod on every node the stack's rules allow. Its pods usually
// take something of the host (Pod.Host), so it lives in the node agents' namespace.
type DaemonSet struct {
	Name string
	Pod  Pod
}

// HostAccess is what a node agent's pod takes of its node: the one exception to the restricted pod
// context, which only a namespace at Pod Security "privileged" admits.
type HostAccess struct {
	// Network and PID share the node's network and process namespaces (node-exporter reads the
	// node's interfaces and /proc as the node sees them).
	Network, PID bool
	// Root runs the pod's containers as root, still with every capability dropped and no
	// privilege escalation: root owns the kubelet's log files, which are not world-readable.
	Root bool
	// Paths are the node's directories the pod mounts.
	Paths []HostPath
}

// HostPath is one of the node's directories, mounted into every container of a node agent.
type HostPath struct {
	// Name is the volume's; Path the node's directory; MountPath where the containers see it.
	Name, Path, MountPath string
	// Writable mounts it read-write and creates it when missing (a collector's positions);
	// otherwise it is read-only and must exist.
	Writable bool
	// Propagation is the mount's propagation: HostToContainer for the node's root, so the
	// filesystems mounted after the pod started are seen.
	Propagation string
}

// volume is the pod's volume of the host directory.
func (h HostPath) volume() *corev1.VolumeArgs {
	kind := "Directory"
	if h.Writable {
		kind = "DirectoryOrCreate"
	}
	return &corev1.VolumeArgs{Name: pulumi.String(h.Name), HostPath: &corev1.HostPathVolumeSourceArgs{
		Path: pulumi.String(h.Path), Type: pulumi.String(kind),
	}}
}

// mount is its mount in a container.
func (h HostPath) mount() *corev1.VolumeMountArgs {
	m := &corev1.VolumeMountArgs{Name: pulumi.String(h.Name), MountPath: pulumi.String(h.MountPath), ReadOnly: pulumi.Bool(!h.Writable)}
	if h.Propagation != "" {
		m.MountPropagation = pulumi.String(h.Propagation)
	}
	return m
}

// onHost gives spec what h takes of the node: its namespaces, the root user, its directories.
func (h *HostAccess) onHost(spec *corev1.PodSpecArgs, containers corev1.ContainerArray) {
	if h.Network {
		spec.HostNetwork = pulumi.Bool(true)
		// The cluster's DNS still resolves Services from the node's network namespace.
		spec.DnsPolicy = pulumi.String("ClusterFirstWithHostNet")
	}
	if h.PID {
		spec.HostPID = pulumi.Bool(true)
	}
	if h.Root {
		spec.SecurityContext = &corev1.PodSecurityContextArgs{
			RunAsNonRoot: pulumi.Bool(false), RunAsUser: pulumi.Int(0), RunAsGroup: pulumi.Int(0),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		}
		for _, c := range containers {
			c.(*corev1.ContainerArgs).SecurityContext.(*corev1.SecurityContextArgs).RunAsNonRoot = pulumi.Bool(false)
		}
	}
	for _, p := range h.Paths {
		volumes, _ := spec.Volumes.(corev1.VolumeArray)
		spec.Volumes = append(volumes, p.volume())
		for _, c := range containers {
			args := c.(*corev1.ContainerArgs)
			mounts, _ := args.VolumeMounts.(corev1.VolumeMountArray)
			args.VolumeMounts = append(mounts, p.mount())
		}
	}
}

// NewDaemonSet declares d. A node agent has no disruption budget: draining a node does not evict
// DaemonSet pods, and a rollout replaces one node's pod at a time.
func NewDaemonSet(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, d DaemonSet, opts ...pulumi.ResourceOption) (*appsv1.DaemonSet, Workload, error) {
	pod, account, err := d.Pod.withAccount(ctx, parent, ns, d.Name, "DaemonSet")
	if err != nil {
		return nil, Workload{}, err
	}
	d.Pod = pod
	ds, err := appsv1.NewDaemonSet(ctx, d.Name, &appsv1.DaemonSetArgs{
		Metadata: ObjectMeta(ctx, ns, d.Name, d.Pod.Component),
		Spec: &appsv1.DaemonSetSpecArgs{
			Selector: &metav1.LabelSelectorArgs{MatchLabels: toStringMap(d.Pod.Selector())},
			UpdateStrategy: &appsv1.DaemonSetUpdateStrategyArgs{Type: pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDaemonSetArgs{MaxUnavailable: pulumi.Int(1)}},
			Template: d.Pod.Template(ctx),
		},
	}, append([]pulumi.ResourceOption{pulumi.Parent(parent), account}, opts...)...)
	if err != nil {
		return nil, Workload{}, fmt.Errorf("%s: daemonset: %w", d.Pod.Component, err)
	}
	return ds, d.Workload(), nil
}

// Workload describes d as NewDaemonSet declares it: its footprint is one node's pod.
func (d DaemonSet) Workload() Workload { return d.Pod.workload("DaemonSet", d.Name, 1, "", 0) }
