package app

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// ModelsBackupCronJob copies the model files off the cluster.
const ModelsBackupCronJob = "pynomaly-models-backup"

// ModelsKind is where the models' copies are in the WAL archive's bucket: pynomaly-models/<namespace>/.
const ModelsKind = "pynomaly-models"

// ModelsBackupArgs configures the models' copy off the cluster.
type ModelsBackupArgs struct {
	tier.Context
	// Env has the model claim, and whether the pods share it.
	Env Env
	// Snapshots are the claims' snapshot schedule and retention, which the copy of the model
	// claim follows.
	Snapshots config.Snapshots
}

// ModelsBackup copies the model files to object storage daily, where the stack names a bucket
// and the models are on the shared claim: with ReadWriteOnce every pod keeps its own scratch
// models (Env.withModels), and nothing outlives the pod to copy.
type ModelsBackup struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads
}

// NewModelsBackup creates the models' copy off the cluster, or nothing when it is off.
func NewModelsBackup(ctx *pulumi.Context, name string, args *ModelsBackupArgs, opts ...pulumi.ResourceOption) (*ModelsBackup, error) {
	c := &ModelsBackup{}
	if err := ctx.RegisterComponentResource(tier.Type("ModelsBackup"), name, c, opts...); err != nil {
		return nil, err
	}
	cron, on := modelsBackupCronJob(args)
	if !on {
		return c, nil
	}
	_, w, err := kube.NewCronJob(ctx, c, args.Namespace, cron)
	if err != nil {
		return nil, err
	}
	c.Add(w)
	return c, nil
}

// PlanModelsBackup is the models' copy before it is declared: its CronJob, if it is on.
func PlanModelsBackup(args *ModelsBackupArgs) (tier.Plan, error) {
	if cron, on := modelsBackupCronJob(args); on {
		return tier.Plan{Objects: []kube.Object{cron}}, nil
	}
	return tier.Plan{}, nil
}

// modelsBackupCronJob is the CronJob that copies the shared model claim whole, as the
// application's user, on the snapshots' schedule (in UTC) and kept as long as them; on is false
// without a bucket or a shared claim.
func modelsBackupCronJob(args *ModelsBackupArgs) (cron kube.CronJob, on bool) {
	if !args.Store.On() || !args.Env.ModelsShared {
		return kube.CronJob{}, false
	}
	pod := kube.Pod{
		Component: "models-backup", UID: appUID, GID: appUID,
		Volumes: corev1.VolumeArray{kube.EmptyDir("tmp", false), kube.ClaimVolume(modelsVolume, args.Env.ModelClaim)},
	}
	tier.CopyOffCluster(&pod, args.Store, tier.OffCluster{Kind: ModelsKind, Volume: modelsVolume, MountPath: ModelStoragePath,
		Dir: ModelStoragePath, RetentionDays: args.Snapshots.RetentionDays})
	return kube.CronJob{
		Job:      kube.Job{Name: ModelsBackupCronJob, Pod: pod, BackoffLimit: 2, DeadlineSeconds: 3 * 3600},
		Schedule: args.Snapshots.Schedule, TimeZone: "Etc/UTC",
	}, true
}
