package foundation

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The claims no StatefulSet owns: database dumps, and the models API and workers share.
const (
	BackupClaimName = "pynomaly-backups"
	ModelClaimName  = "pynomaly-models"
)

// StorageArgs configures the storage tier.
type StorageArgs struct {
	tier.Context
	Storage config.Storage
	// Rendered is true when manifests are written to a directory instead of applied.
	Rendered bool
	// KubectlImage runs the snapshot job (Storage.Snapshots).
	KubectlImage string
}

// Storage is the seed's data-science-storage.yaml: an SSD StorageClass (or an existing one), the
// claims that no StatefulSet owns, and the schedule of every claim's snapshots.
type Storage struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	// ClassName is the StorageClass every claim of the platform uses.
	ClassName pulumi.StringOutput `pulumi:"className"`
	// BackupClaim is where database backups are written.
	BackupClaim pulumi.StringOutput `pulumi:"backupClaim"`
	// ModelClaim holds model artifacts shared by API and workers.
	ModelClaim pulumi.StringOutput `pulumi:"modelClaim"`
	// Volumes is what the StatefulSets' claims are made on: the class, and growth in place
	// wherever there is a cluster to patch.
	Volumes kube.Volumes
}

// NewStorage creates the storage tier.
func NewStorage(ctx *pulumi.Context, name string, args *StorageArgs, opts ...pulumi.ResourceOption) (*Storage, error) {
	c := &Storage{}
	if err := ctx.RegisterComponentResource(tier.Type("Storage"), name, c, opts...); err != nil {
		return nil, err
	}
	st := args.Storage
	if st.ExistingClass != "" {
		c.ClassName = pulumi.String(st.ExistingClass).ToStringOutput()
	} else {
		params := pulumi.StringMap{}
		for k, v := range st.Parameters {
			params[k] = pulumi.String(v)
		}
		class, err := storagev1.NewStorageClass(ctx, st.ClassName, &storagev1.StorageClassArgs{
			Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(st.ClassName), Labels: kube.Labels(ctx, "storage")},
			Provisioner: pulumi.String(st.Provisioner),
			Parameters:  params,
			// Claims grow in place (resize the setting, pulumi up) instead of a migration.
			AllowVolumeExpansion: pulumi.Bool(true),
			ReclaimPolicy:        pulumi.String(st.ReclaimPolicy),
			// The volume is made in the zone the scheduler picks for the pod, so zone spread
			// and volume placement never contradict each other.
			VolumeBindingMode: pulumi.String("WaitForFirstConsumer"),
		},
			pulumi.Parent(c),
			// A StorageClass is immutable and its name is fixed: a change must delete the old
			// one first. Existing volumes keep their reclaim policy either way.
			pulumi.DeleteBeforeReplace(true))
		if err != nil {
			return nil, fmt.Errorf("storage: storage class: %w", err)
		}
		c.ClassName = class.Metadata.Name().Elem()
	}

	c.Volumes = kube.Volumes{Class: c.ClassName, Grow: !args.Rendered}

	modelClass := c.ClassName
	if st.ModelClassName != "" {
		modelClass = pulumi.String(st.ModelClassName).ToStringOutput()
	}
	claim := func(claimName, size, accessMode string, class pulumi.StringOutput) (pulumi.StringOutput, error) {
		meta := kube.ObjectMeta(ctx, args.Namespace, claimName, "storage")
		// Nothing consumes these claims at creation (the backup CronJob mounts its claim at
		// 02:00), so with WaitForFirstConsumer they stay Pending; the provider used here
		// (4.25) also times out awaiting an *update* of such a claim (pulumi-kubernetes#4179).
		meta.Annotations = pulumi.StringMap{"pulumi.com/skipAwait": pulumi.String("true")}
		pvc, err := corev1.NewPersistentVolumeClaim(ctx, claimName, &corev1.PersistentVolumeClaimArgs{
			Metadata: meta,
			Spec: &corev1.PersistentVolumeClaimSpecArgs{
				AccessModes:      pulumi.StringArray{pulumi.String(accessMode)},
				StorageClassName: class,
				Resources: &corev1.VolumeResourceRequirementsArgs{
					Requests: pulumi.StringMap{"storage": pulumi.String(size)},
				},
			},
		}, pulumi.Parent(c), tier.Stateful(args.Protect))
		if err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("storage: claim %s: %w", claimName, err)
		}
		return pvc.Metadata.Name().Elem(), nil
	}
	var err error
	if c.BackupClaim, err = claim(BackupClaimName, st.BackupSize, "ReadWriteOnce", c.ClassName); err != nil {
		return nil, err
	}
	if c.ModelClaim, err = claim(ModelClaimName, st.ModelSize, st.ModelAccessMode, modelClass); err != nil {
		return nil, err
	}
	if err := volumeSnapshots(ctx, c, args); err != nil {
		return nil, err
	}

	c.Keep(pulumi.Map{
		"className": c.ClassName, "backupClaim": c.BackupClaim, "modelClaim": c.ModelClaim,
	})
	return c, nil
}

// PlanStorage is the storage tier before it is declared: the backup and model claims, and the
// snapshot schedule when it is on.
func PlanStorage(args *StorageArgs) (tier.Plan, error) {
	st := args.Storage
	p := tier.Plan{Claims: []kube.Footprint{
		{Name: "claim " + BackupClaimName, ClaimSize: st.BackupSize, Claims: 1},
		{Name: "claim " + ModelClaimName, ClaimSize: st.ModelSize, Claims: 1},
	}}
	if st.Snapshots.On() {
		p.Objects = append(p.Objects, snapshotCronJob(args))
	}
	return p, nil
}
