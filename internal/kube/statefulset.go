package kube

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// StatefulSet is a database's StatefulSet: replicas with a claim each, a governing headless
// Service, and a disruption budget of one pod at a time.
type StatefulSet struct {
	Name     string
	Replicas int
	// ServiceName is the headless Service's name, taken from the Service resource so the set
	// is created after it.
	ServiceName pulumi.StringInput
	// PodManagementPolicy is OrderedReady (the default when empty) or Parallel.
	PodManagementPolicy string
	Pod                 Pod
	// Claim is each replica's volume, mounted as Claim.Name; none when Claim.Size is empty.
	Claim        Claim
	StorageClass pulumi.StringInput
}

// Claim is a per-replica PersistentVolumeClaim template.
type Claim struct{ Name, Size string }

// NewStatefulSet declares s and its disruption budget. Claims are kept when the set is deleted
// or scaled down: data is only ever removed by a person.
func NewStatefulSet(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, s StatefulSet, opts ...pulumi.ResourceOption) (*appsv1.StatefulSet, Workload, error) {
	pod, account, err := s.Pod.withAccount(ctx, parent, ns, s.Name)
	if err != nil {
		return nil, Workload{}, err
	}
	s.Pod, opts = pod, append(opts, account)
	spec := &appsv1.StatefulSetSpecArgs{
		ServiceName: s.ServiceName,
		Replicas:    pulumi.Int(s.Replicas),
		Selector:    &metav1.LabelSelectorArgs{MatchLabels: toStringMap(s.Pod.Selector())},
		PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs{
			WhenDeleted: pulumi.String("Retain"),
			WhenScaled:  pulumi.String("Retain"),
		},
		Template: s.Pod.Template(ctx),
	}
	if s.PodManagementPolicy != "" {
		spec.PodManagementPolicy = pulumi.String(s.PodManagementPolicy)
	}
	claimsPerPod := 0
	if s.Claim.Size != "" {
		spec.VolumeClaimTemplates = corev1.PersistentVolumeClaimTypeArray{s.claimTemplate(ctx)}
		claimsPerPod = 1
	}
	component := s.Pod.Component
	sts, err := appsv1.NewStatefulSet(ctx, s.Name, &appsv1.StatefulSetArgs{
		Metadata: ObjectMeta(ctx, ns, s.Name, component), Spec: spec,
	}, append([]pulumi.ResourceOption{pulumi.Parent(parent)}, opts...)...)
	if err != nil {
		return nil, Workload{}, fmt.Errorf("%s: statefulset: %w", component, err)
	}
	if err := newDisruptionBudget(ctx, parent, ns, s.Name, component, s.Pod.Selector(), OneAtATime); err != nil {
		return nil, Workload{}, err
	}
	return sts, s.Pod.workload("StatefulSet", s.Name, s.Replicas, s.Claim.Size, claimsPerPod), nil
}

// claimTemplate is the per-replica claim on the platform's storage class.
func (s StatefulSet) claimTemplate(ctx *pulumi.Context) *corev1.PersistentVolumeClaimTypeArgs {
	return &corev1.PersistentVolumeClaimTypeArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(s.Claim.Name), Labels: Labels(ctx, s.Pod.Component)},
		Spec: &corev1.PersistentVolumeClaimSpecArgs{
			AccessModes:      pulumi.StringArray{pulumi.String("ReadWriteOnce")},
			StorageClassName: s.StorageClass,
			Resources:        &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(s.Claim.Size)}},
		},
	}
}
