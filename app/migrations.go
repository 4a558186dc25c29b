package app

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// MigrationJobName is the schema migration's Job.
const MigrationJobName = "pynomaly-db-migrate"

// MigrationArgs configures the schema migration.
type MigrationArgs struct {
	tier.Context
	// Image is the API image, which ships the migrations.
	Image string
	Env   Env
	// PrimaryHost is the read-write Service: migrations take locks and run DDL, which a
	// transaction-pooling PgBouncer does not carry reliably.
	PrimaryHost pulumi.StringInput
	After       []pulumi.Resource
	// Standby: the database is a read-only standby of another stack's (postgres.standby), whose
	// schema it replays; no migration runs until it is promoted.
	Standby bool
}

// Migration runs the database schema migrations once PostgreSQL is ready, and before the API
// and the workers are created or rolled: they depend on it.
type Migration struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	Job pulumi.Resource
}

// NewMigration creates the migration job. A new image changes the job's template, which
// replaces the job, so every release migrates before its pods start.
func NewMigration(ctx *pulumi.Context, name string, args *MigrationArgs, opts ...pulumi.ResourceOption) (*Migration, error) {
	c := &Migration{}
	if err := ctx.RegisterComponentResource(tier.Type("Migration"), name, c, opts...); err != nil {
		return nil, err
	}
	if args.Standby {
		return c, nil
	}
	job, w, err := kube.NewJob(ctx, c, args.Namespace, migrationJob(args),
		kube.After(args.After), pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "30m", Update: "30m"}))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	c.Job = job
	c.Keep(pulumi.Map{"job": job.Metadata.Name().Elem()})
	return c, nil
}

// Done is what must wait for the migration: its Job, or nothing on a standby.
func (c *Migration) Done() []pulumi.Resource {
	if c.Job == nil {
		return nil
	}
	return []pulumi.Resource{c.Job}
}

// PlanMigration is the migration before it is declared: its Job, none on a standby.
func PlanMigration(args *MigrationArgs) (tier.Plan, error) {
	if args.Standby {
		return tier.Plan{}, nil
	}
	return tier.Plan{Objects: []kube.Object{migrationJob(args)}}, nil
}

// migrationJob runs the migrations to head.
func migrationJob(args *MigrationArgs) kube.Job {
	migrate := args.Env.container("migrate", args.Image, tier.JobResources, kube.EnvOutput("DATABASE_HOST", args.PrimaryHost))
	// Alembic, as the FastAPI service ships it; idempotent at head.
	migrate.Command = []string{"alembic", "upgrade", "head"}
	migrate.Mounts = corev1.VolumeMountArray{kube.Mount("tmp", "/tmp")}
	pod := kube.Pod{
		Component: "migrate", UID: appUID, GID: appUID,
		InitContainers: args.Env.waitForDatabases(),
		Containers:     []kube.Container{migrate},
		Volumes:        corev1.VolumeArray{kube.EmptyDir("tmp", false)},
	}
	tier.TrustInternalCA(&pod, args.TLS)
	args.Env.withModels(&pod)
	return kube.Job{Name: MigrationJobName, Pod: pod, BackoffLimit: 3, DeadlineSeconds: 1800}
}
