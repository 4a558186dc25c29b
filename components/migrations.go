package components

import (
	"fmt"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

const MigrationJobName = "pynomaly-db-migrate"

// MigrationArgs configures the schema migration.
type MigrationArgs struct {
	Namespace pulumi.StringInput
	// Image is the API image, which ships the migrations.
	Image string
	Env   AppEnv
	// PrimaryHost is the read-write Service: migrations take locks and run DDL, which a
	// transaction-pooling PgBouncer does not carry reliably.
	PrimaryHost pulumi.StringInput
	After       []pulumi.Resource
}

// Migration runs the database schema migrations once PostgreSQL is ready, and before the API
// and the workers are created or rolled: they depend on it.
type Migration struct {
	pulumi.ResourceState

	Job *batchv1.Job
}

// NewMigration creates the migration job. A new image changes the job's template, which
// replaces the job, so every release migrates before its pods start.
func NewMigration(ctx *pulumi.Context, name string, args *MigrationArgs, opts ...pulumi.ResourceOption) (*Migration, error) {
	c := &Migration{}
	if err := ctx.RegisterComponentResource(componentType("Migration"), name, c, opts...); err != nil {
		return nil, err
	}
	envFrom, env := args.Env.env(&corev1.EnvVarArgs{Name: pulumi.String("DATABASE_HOST"), Value: args.PrimaryHost})
	job, err := batchv1.NewJob(ctx, MigrationJobName, &batchv1.JobArgs{
		Metadata: objectMeta(ctx, args.Namespace, MigrationJobName, "migrate"),
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:          pulumi.Int(3),
			ActiveDeadlineSeconds: pulumi.Int(1800),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels(ctx, "migrate")},
				Spec: &corev1.PodSpecArgs{
					RestartPolicy:                pulumi.String("OnFailure"),
					AutomountServiceAccountToken: pulumi.Bool(false),
					SecurityContext:              podSecurity(appUID, appUID),
					InitContainers:               args.Env.waitForDatabases(),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String("migrate"),
						Image: pulumi.String(args.Image),
						// Alembic, as the FastAPI service ships it; idempotent at head.
						Command:         pulumi.ToStringArray([]string{"alembic", "upgrade", "head"}),
						EnvFrom:         envFrom,
						Env:             env,
						Resources:       resources(config.JobResources),
						SecurityContext: containerSecurity(true),
						VolumeMounts:    corev1.VolumeMountArray{mount("tmp", "/tmp")},
					}},
					Volumes: corev1.VolumeArray{emptyDir("tmp", false)},
				},
			},
		},
	}, pulumi.Parent(c), pulumi.DependsOn(args.After), pulumi.DeleteBeforeReplace(true),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "30m", Update: "30m"}))
	if err != nil {
		return nil, fmt.Errorf("migration: job: %w", err)
	}
	c.Job = job
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"job": job.Metadata.Name().Elem()})
}
