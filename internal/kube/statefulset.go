package kube

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
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
	Claim   Claim
	Volumes Volumes
}

// Claim is a per-replica PersistentVolumeClaim template.
type Claim struct{ Name, Size string }

// Volumes is where the claims of StatefulSets are made, and whether the program grows them.
type Volumes struct {
	// Class is the StorageClass of every claim; it must allow volume expansion for growth.
	Class pulumi.StringInput
	// Grow patches each replica's existing claim to the template's size. Off when manifests are
	// rendered: there is no claim to patch, and a rendered patch would be a partial object.
	Grow bool
}

// ClaimName is the name the StatefulSet controller gives the claim of template on the set's
// replica ordinal.
func ClaimName(template, set string, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", template, set, ordinal)
}

// OrphanOnDelete is the provider's annotation choosing how an object is deleted: "orphan"
// deletes a StatefulSet without its pods (and, as always, without its claims).
const OrphanOnDelete = "pulumi.com/deletionPropagationPolicy"

// NewStatefulSet declares s, its disruption budget and, when its volumes grow, a patch of each
// replica's claim. Claims are kept when the set is deleted or scaled down: data is only ever
// removed by a person.
//
// Growing a claim: the API server refuses any change to an existing set's claim templates, so a
// new size re-creates the set (DeleteBeforeReplace: its name is fixed). The set is deleted with
// the orphan policy, so its pods keep running through the replacement; the new set, with the
// same selector and pod template, adopts them without a restart. The templates only shape claims
// not made yet; the claims that exist grow through their patches, made after the set.
//
// This is also why the set is never protected, not even in prod: protection forbids the
// replacement growth needs, and the set holds no data. The data is in the claims, which are not
// Pulumi resources (the controller makes them from the templates): neither an orphaning delete
// nor the retention policy below removes them, and in prod the namespace that holds them is
// protected. A mistaken `pulumi destroy` deletes the set and leaves the databases running.
func NewStatefulSet(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, s StatefulSet, opts ...pulumi.ResourceOption) (*appsv1.StatefulSet, Workload, error) {
	pod, account, err := s.Pod.withAccount(ctx, parent, ns, s.Name, "StatefulSet")
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
	if s.Claim.Size != "" {
		spec.VolumeClaimTemplates = corev1.PersistentVolumeClaimTypeArray{s.claimTemplate(ctx)}
	}
	component := s.Pod.Component
	meta := ObjectMeta(ctx, ns, s.Name, component)
	meta.Annotations = pulumi.StringMap{OrphanOnDelete: pulumi.String("orphan")}
	if s.Claim.Size != "" {
		generation, err := s.claimGeneration(ctx, parent)
		if err != nil {
			return nil, Workload{}, err
		}
		meta.Annotations.(pulumi.StringMap)[ClaimGenerationAnnotation] = generation
	}
	sts, err := appsv1.NewStatefulSet(ctx, s.Name, &appsv1.StatefulSetArgs{Metadata: meta, Spec: spec},
		append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(true),
			pulumi.ReplaceOnChanges([]string{"spec.volumeClaimTemplates"})}, opts...)...)
	if err != nil {
		return nil, Workload{}, fmt.Errorf("%s: statefulset: %w", component, err)
	}
	if err := s.growClaims(ctx, parent, ns, sts); err != nil {
		return nil, Workload{}, err
	}
	if err := newDisruptionBudget(ctx, parent, ns, s.Name, component, s.Pod.Selector(), OneAtATime); err != nil {
		return nil, Workload{}, err
	}
	return sts, s.Workload(), nil
}

// claimTemplate is the per-replica claim on the platform's storage class.
func (s StatefulSet) claimTemplate(ctx *pulumi.Context) *corev1.PersistentVolumeClaimTypeArgs {
	return &corev1.PersistentVolumeClaimTypeArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(s.Claim.Name), Labels: Labels(ctx, s.Pod.Component)},
		Spec: &corev1.PersistentVolumeClaimSpecArgs{
			AccessModes:      pulumi.StringArray{pulumi.String("ReadWriteOnce")},
			StorageClassName: s.Volumes.Class,
			Resources:        &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(s.Claim.Size)}},
		},
	}
}

// ClaimGenerationAnnotation changes with a StatefulSet's claim templates (see claimGeneration).
const ClaimGenerationAnnotation = "pynomaly.io/claim-generation"

// claimGeneration is a random id kept while the claim template stays the same, and drawn anew
// when it changes. A new id is unknown until `pulumi up` draws it, which is what lets a
// growth be previewed: the provider previews the set's re-creation with a server-side dry
// run of the new set under its fixed name, which the API server refuses as a forbidden change
// of the existing set; with an input still unknown, the provider skips that dry run.
func (s StatefulSet) claimGeneration(ctx *pulumi.Context, parent pulumi.Resource) (pulumi.StringOutput, error) {
	id, err := random.NewRandomId(ctx, s.Name+"-claims", &random.RandomIdArgs{
		ByteLength: pulumi.Int(4),
		Keepers:    pulumi.StringMap{"name": pulumi.String(s.Claim.Name), "size": pulumi.String(s.Claim.Size)},
	}, pulumi.Parent(parent))
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("%s: claim generation: %w", s.Pod.Component, err)
	}
	return id.Hex, nil
}

// growClaims patches the storage request of each replica's claim to the template's size (server-
// side apply, taking the field over from the controller that made the claim). The patches come
// after the set, whose await means every replica's claim exists. A removed patch (a scale-down,
// a destroy) leaves its claim as it is: the provider would otherwise try to drop the request,
// which a claim must have.
func (s StatefulSet) growClaims(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, sts *appsv1.StatefulSet) error {
	if s.Claim.Size == "" || !s.Volumes.Grow {
		return nil
	}
	for i := 0; i < s.Replicas; i++ {
		name := ClaimName(s.Claim.Name, s.Name, i)
		if _, err := corev1.NewPersistentVolumeClaimPatch(ctx, name, &corev1.PersistentVolumeClaimPatchArgs{
			Metadata: &metav1.ObjectMetaPatchArgs{Name: pulumi.String(name), Namespace: ns, Annotations: pulumi.StringMap{
				"pulumi.com/patchForce": pulumi.String("true"),
				// The provider awaits a claim of a WaitForFirstConsumer class until it is
				// Pending, which a bound claim never is again (pulumi-kubernetes#4179); the
				// resize itself is the volume driver's, after the request is accepted.
				"pulumi.com/skipAwait": pulumi.String("true"),
			}},
			Spec: &corev1.PersistentVolumeClaimSpecPatchArgs{Resources: &corev1.VolumeResourceRequirementsPatchArgs{
				Requests: pulumi.StringMap{"storage": pulumi.String(s.Claim.Size)},
			}},
		}, pulumi.Parent(parent), After([]pulumi.Resource{sts}), pulumi.RetainOnDelete(true)); err != nil {
			return fmt.Errorf("%s: claim %s: %w", s.Pod.Component, name, err)
		}
	}
	return nil
}
