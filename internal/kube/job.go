package kube

import (
	"fmt"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Job is a run-to-completion workload: retried BackoffLimit times, killed after
// DeadlineSeconds.
type Job struct {
	Name                          string
	Pod                           Pod
	BackoffLimit, DeadlineSeconds int
}

// CronJob runs a Job on a schedule, never two at once.
type CronJob struct {
	Job
	Schedule, TimeZone string
}

// NewJob declares j. A Job's template is immutable and its name fixed, so a change deletes it
// and runs it again: every change of what it applies is applied.
func NewJob(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, j Job, opts ...pulumi.ResourceOption) (*batchv1.Job, Workload, error) {
	pod, account, err := j.Pod.withAccount(ctx, parent, ns, j.Name, "Job")
	if err != nil {
		return nil, Workload{}, err
	}
	j.Pod = pod
	component := j.Pod.Component
	opts = append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(true), account}, opts...)
	job, err := batchv1.NewJob(ctx, j.Name, &batchv1.JobArgs{
		Metadata: ObjectMeta(ctx, ns, j.Name, component),
		Spec:     j.spec(ctx),
	}, opts...)
	if err != nil {
		return nil, Workload{}, fmt.Errorf("%s: job: %w", component, err)
	}
	return job, j.Workload(), nil
}

func (j Job) spec(ctx *pulumi.Context) *batchv1.JobSpecArgs {
	pod := j.Pod
	pod.RestartPolicy = "OnFailure"
	return &batchv1.JobSpecArgs{
		BackoffLimit:          pulumi.Int(j.BackoffLimit),
		ActiveDeadlineSeconds: pulumi.Int(j.DeadlineSeconds),
		Template:              pod.Template(ctx),
	}
}

// NewCronJob declares c. A run that missed its time by more than an hour is skipped, and the
// last runs stay for inspection.
func NewCronJob(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, c CronJob, opts ...pulumi.ResourceOption) (*batchv1.CronJob, Workload, error) {
	pod, account, err := c.Pod.withAccount(ctx, parent, ns, c.Name, "CronJob")
	if err != nil {
		return nil, Workload{}, err
	}
	c.Pod, opts = pod, append(opts, account)
	component := c.Pod.Component
	cron, err := batchv1.NewCronJob(ctx, c.Name, &batchv1.CronJobArgs{
		Metadata: ObjectMeta(ctx, ns, c.Name, component),
		Spec: &batchv1.CronJobSpecArgs{
			Schedule:                   pulumi.String(c.Schedule),
			TimeZone:                   pulumi.String(c.TimeZone),
			ConcurrencyPolicy:          pulumi.String("Forbid"),
			StartingDeadlineSeconds:    pulumi.Int(3600),
			SuccessfulJobsHistoryLimit: pulumi.Int(3),
			FailedJobsHistoryLimit:     pulumi.Int(5),
			JobTemplate:                &batchv1.JobTemplateSpecArgs{Spec: c.spec(ctx)},
		},
	}, append([]pulumi.ResourceOption{pulumi.Parent(parent)}, opts...)...)
	if err != nil {
		return nil, Workload{}, fmt.Errorf("%s: cronjob: %w", component, err)
	}
	return cron, c.Workload(), nil
}

// ScriptPod is the pod of a data-tier job: one container named after the component that runs
// script with /bin/sh, with resources r, a writable /tmp and the given volumes.
func ScriptPod(component, image string, r Resources, uid int, script string, env corev1.EnvVarArray, volumes corev1.VolumeArray, mounts corev1.VolumeMountArray) Pod {
	return Pod{
		Component: component,
		UID:       uid, GID: uid,
		Containers: []Container{{
			Name:      component,
			Image:     image,
			Command:   Script("/bin/sh", script),
			Env:       env,
			Resources: r,
			Mounts:    append(corev1.VolumeMountArray{Mount("tmp", "/tmp")}, mounts...),
		}},
		Volumes: append(corev1.VolumeArray{EmptyDir("tmp", false)}, volumes...),
	}
}
