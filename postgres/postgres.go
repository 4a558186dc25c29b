// Package postgres is the PostgreSQL tier: a Patroni cluster (Spilo) with its Services, the setup
// job that makes the application's login, the nightly dump and WAL archiving, PgBouncer in front,
// and the generated postgresql.conf, pg_hba.conf and pgbouncer.ini (conf.go).
package postgres

import (
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names, ports and identities of the PostgreSQL tier. Exported ones are what other tiers and
// operators address.
const (
	Name                 = "pynomaly-postgres"
	ServiceName          = "pynomaly-postgres-service"
	HeadlessService      = "pynomaly-postgres-headless"
	ReplicaService       = "pynomaly-postgres-replicas"
	PoolerName           = "pynomaly-postgres-pooler"
	SetupJob             = "pynomaly-postgres-setup"
	BackupCronJob        = "pynomaly-postgres-backup"
	Database             = "pynomaly"
	Port                 = 5432
	patroniPort          = 8008
	postgresExporterPort = 9187
	// Spilo runs PostgreSQL as the image's postgres user (101) and group (103).
	spiloUID, spiloGID = 101, 103
	// The PostgreSQL clients (the setup and backup jobs, with PGUSER set) run as any user;
	// 10000 and more is a range no account of the node uses.
	ClientUID = tier.BackupClaimGID
	// Patroni labels each pod with its role; the read-write Service selects the leader.
	patroniRoleLabel   = "spilo-role"
	patroniLeaderValue = "primary"
	patroniScopeLabel  = "cluster-name"
)

// Component is the database pods' component label.
const Component = "postgres"

// PatroniPodKeys are what Patroni writes on its members' pods: its role label, and the status
// annotation where it keeps each member's state (the Kubernetes DCS). Nothing else of a database
// pod's labels and annotations changes once it runs.
func PatroniPodKeys() (labels, annotations []string) {
	return []string{patroniRoleLabel}, []string{"status"}
}

// Args configures the PostgreSQL tier.
type Args struct {
	tier.Context
	Settings config.Postgres
	Pooler   config.Pooler
	Images   config.Images
	// Volumes is where the StatefulSet's claims are made and whether they grow in place.
	Volumes     kube.Volumes
	BackupClaim pulumi.StringInput
	// Secret is the postgres credentials Secret of the secrets tier.
	Secret pulumi.StringInput
	// Generation is the application login's (secrets.rotation): the setup job sets the login of
	// its slot, the pooler and the exports follow it.
	Generation int
	// WebIdentityRole is the IAM role the members reach S3 with through IRSA (identity.objectStorage
	// on aws); "" without one.
	WebIdentityRole string
	// ExternalApp and ExternalMonitor: the application's and the metrics exporter's passwords
	// come from a secret manager (secrets.source), so the setup job computes their verifiers.
	ExternalApp, ExternalMonitor bool
}

// Postgres is the seed's data-science-database.yaml made highly available: Patroni (in the
// Spilo image) runs a primary and streaming replicas, elects a new primary on failure and keeps
// its state in the Kubernetes API; PgBouncer pools connections in front of it; a daily pg_dump
// and optional continuous WAL archiving back it up.
type Postgres struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	// Host is the pooler: what API and workers connect to.
	Host pulumi.StringOutput `pulumi:"host"`
	// PrimaryHost is the read-write Service (always the current primary).
	PrimaryHost pulumi.StringOutput `pulumi:"primaryHost"`
	// ReplicaHost is the read-only Service.
	ReplicaHost pulumi.StringOutput `pulumi:"replicaHost"`
	Port        pulumi.IntOutput    `pulumi:"port"`
	Database    pulumi.StringOutput `pulumi:"database"`
	SecretName  pulumi.StringOutput `pulumi:"secretName"`
	// UserKey and PasswordKey are the application's keys in SecretName.
	UserKey     pulumi.StringOutput `pulumi:"userKey"`
	PasswordKey pulumi.StringOutput `pulumi:"passwordKey"`
	// Ready resolves once the StatefulSet is ready, the setup job has created the
	// application's role and database, and the pooler runs; consumers depend on it.
	Ready []pulumi.Resource
}

// New creates the PostgreSQL tier: RBAC for Patroni, the Services, the StatefulSet, the
// setup job, the backups and the pooler, in that order.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Postgres, error) {
	c := &Postgres{}
	if err := ctx.RegisterComponentResource(tier.Type("Postgres"), name, c, opts...); err != nil {
		return nil, err
	}
	ns := args.Namespace
	binding, err := postgresRBAC(ctx, c, ns, args.Settings.Replicas)
	if err != nil {
		return nil, err
	}
	svc, err := postgresServices(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	params := parameters(args)
	sts, err := postgresStatefulSet(ctx, c, args, params, svc.headless, binding)
	if err != nil {
		return nil, err
	}
	setup, err := postgresSetupJob(ctx, c, args, kube.Host(ServiceName, ns), params, sts)
	if err != nil {
		return nil, err
	}
	if err := postgresBackup(ctx, c, args, kube.Host(ReplicaService, ns), kube.Host(ServiceName, ns)); err != nil {
		return nil, err
	}
	pooler, err := newPooler(ctx, c, args, kube.Host(ServiceName, ns), []pulumi.Resource{setup})
	if err != nil {
		return nil, err
	}

	c.Host = kube.Host(PoolerName, ns)
	// Through the Service object, so consumers of the host wait for it to exist.
	c.PrimaryHost = pulumi.Sprintf("%s.%s.svc", svc.primary.Metadata.Name().Elem(), ns)
	c.ReplicaHost = kube.Host(ReplicaService, ns)
	c.Port = pulumi.Int(Port).ToIntOutput()
	c.Database = pulumi.String(Database).ToStringOutput()
	c.SecretName = args.Secret.ToStringOutput()
	c.UserKey = pulumi.String(credentials.PostgresAppUserKeyOf(credentials.SlotOf(args.Generation))).ToStringOutput()
	c.PasswordKey = pulumi.String(credentials.PostgresAppPasswordKeyOf(credentials.SlotOf(args.Generation))).ToStringOutput()
	c.Ready = []pulumi.Resource{sts, setup, pooler}
	c.Keep(pulumi.Map{
		"host": c.Host, "primaryHost": c.PrimaryHost, "replicaHost": c.ReplicaHost, "port": c.Port,
		"database": c.Database, "secretName": c.SecretName, "userKey": c.UserKey, "passwordKey": c.PasswordKey,
	})
	return c, nil
}

// Plan is the PostgreSQL tier before it is declared: the cluster's StatefulSet, its setup job, the
// backup and the pooler.
func Plan(args *Args) (tier.Plan, error) {
	params := parameters(args)
	sts, err := statefulSet(args, params, nil)
	if err != nil {
		return tier.Plan{}, err
	}
	setup, err := setupJob(args, nil, params)
	if err != nil {
		return tier.Plan{}, err
	}
	return tier.Plan{Objects: []kube.Object{sts, setup, backupCronJob(args, nil, nil), poolerDeployment(args, nil)}}, nil
}

// parameters are PostgreSQL's, with those of TLS when the cluster serves it.
func parameters(args *Args) map[string]string {
	params := Parameters(args.Settings)
	if args.TLS {
		maps.Copy(params, TLSParameters())
	}
	return params
}

// postgresSelector selects the cluster's pods, or those of one Patroni role.
func postgresSelector(role string) map[string]string {
	sel := kube.SelectorLabels(Component)
	sel[patroniScopeLabel] = Name
	if role != "" {
		sel[patroniRoleLabel] = role
	}
	return sel
}

const (
	ClaimTemplate = "pgdata"
)
