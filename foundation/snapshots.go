package foundation

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// VolumeSnapshotsCronJob takes the scheduled VolumeSnapshots (storage.snapshots).
const VolumeSnapshotsCronJob = "pynomaly-volume-snapshots"

// Labels of the scheduled snapshots: which schedule took them and on which UTC day.
const (
	SnapshotScheduleLabel = "pynomaly.io/snapshot-schedule"
	SnapshotDayLabel      = "pynomaly.io/snapshot-day"
)

// VolumeSnapshotScript is one run of the snapshot schedule: a VolumeSnapshot of every claim in
// the namespace (those of the StatefulSets too, whatever their replicas), named after the claim
// and the UTC time and labelled with the day; then this schedule's snapshots of days more than
// RETENTION_DAYS back are deleted. Under set -e a failed snapshot stops the run before anything
// is deleted, so a broken run never leaves fewer snapshots. It reads SNAPSHOT_CLASS and
// RETENTION_DAYS; kubectl finds the namespace and the token in the pod.
var VolumeSnapshotScript = tier.Fill(assets.ScriptTemplate("snapshots.sh.tmpl"), map[string]string{
	"ScheduleLabel": SnapshotScheduleLabel, "DayLabel": SnapshotDayLabel,
})

// volumeSnapshots is the snapshot schedule, when storage.snapshots names a class: a CronJob
// running VolumeSnapshotScript with kubectl, whose account may list the claims and create, list
// and delete VolumeSnapshots in the namespace, and nothing else.
func volumeSnapshots(ctx *pulumi.Context, c *Storage, args *StorageArgs) error {
	sn := args.Storage.Snapshots
	if !sn.On() {
		return nil
	}
	binding, err := kube.NewAccess(ctx, c, args.Namespace, kube.Access{Name: VolumeSnapshotsCronJob, Component: "volume-snapshots",
		Rules: volumeSnapshotRules()})
	if err != nil {
		return err
	}
	after := []pulumi.Resource{binding}
	if sn.Created != "" {
		class, err := snapshotClass(ctx, c, sn)
		if err != nil {
			return err
		}
		after = append(after, class)
	}
	_, w, err := kube.NewCronJob(ctx, c, args.Namespace, snapshotCronJob(args), kube.After(after))
	if err != nil {
		return err
	}
	c.Add(w)
	return nil
}

// snapshotClass is the VolumeSnapshotClass the stack creates (storage.snapshots.createClass), of
// the storage driver (storage.snapshots.driver). A snapshot outlives the claim it was taken of;
// deleting it (the schedule's retention) deletes the cloud's snapshot too, so none is left to
// pay for unseen.
func snapshotClass(ctx *pulumi.Context, c *Storage, sn config.Snapshots) (pulumi.Resource, error) {
	class, err := apiextensions.NewCustomResource(ctx, sn.Created, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(SnapshotAPIVersion),
		Kind:        pulumi.String("VolumeSnapshotClass"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(sn.Created), Labels: kube.Labels(ctx, "volume-snapshots")},
		OtherFields: snapshotClassFields(sn),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("volume snapshot class: %w", err)
	}
	return class, nil
}

// snapshotClassFields are the created class's driver, deletion policy and, with
// storage.snapshots.location, the driver's parameter that keeps the snapshots in another region.
func snapshotClassFields(sn config.Snapshots) kubernetes.UntypedArgs {
	fields := kubernetes.UntypedArgs{"driver": sn.Driver, "deletionPolicy": "Delete"}
	if params := sn.Parameters(); params != nil {
		fields["parameters"] = params
	}
	return fields
}

// SnapshotAPIVersion is the API of VolumeSnapshots and their classes.
const SnapshotAPIVersion = "snapshot.storage.k8s.io/v1"

// volumeSnapshotRules are the snapshot CronJob's rights; the deployer Role holds them too, to
// grant them.
func volumeSnapshotRules() rbacv1.PolicyRuleArray {
	return rbacv1.PolicyRuleArray{
		kube.Rule("", []string{"persistentvolumeclaims"}, "list"),
		kube.Rule("snapshot.storage.k8s.io", []string{"volumesnapshots"}, "create", "list", "delete"),
	}
}

// snapshotCronJob is the snapshot schedule's CronJob.
func snapshotCronJob(args *StorageArgs) kube.CronJob {
	sn := args.Storage.Snapshots
	pod := kube.ScriptPod("volume-snapshots", args.KubectlImage, tier.JobResources, snapshotUID, VolumeSnapshotScript, corev1.EnvVarArray{
		kube.Env("SNAPSHOT_CLASS", sn.ClassName),
		kube.Env("RETENTION_DAYS", fmt.Sprint(sn.RetentionDays)),
		// kubectl keeps its discovery cache under $HOME.
		kube.Env("HOME", "/tmp"),
	}, nil, nil)
	pod.APIClient = "volume-snapshots"
	return kube.CronJob{
		Job:      kube.Job{Name: VolumeSnapshotsCronJob, Pod: pod, BackoffLimit: 2, DeadlineSeconds: 1800},
		Schedule: sn.Schedule, TimeZone: "Etc/UTC",
	}
}

// snapshotUID is the unprivileged user the kubectl job runs as (nobody).
const snapshotUID = 65534
