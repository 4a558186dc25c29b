package components

import (
	"encoding/json"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

// Names of the PostgreSQL tier's objects.
const (
	PostgresName            = "pynomaly-postgres"
	PostgresHeadlessService = "pynomaly-postgres-headless"
	PostgresReplicaService  = "pynomaly-postgres-replicas"
	PostgresPoolerName      = "pynomaly-postgres-pooler"
	PostgresSetupJob        = "pynomaly-postgres-setup"
	PostgresBackupCronJob   = "pynomaly-postgres-backup"
	patroniPort             = 8008
	postgresExporterPort    = 9187
	// Spilo runs PostgreSQL as the image's postgres user (101) and group (103).
	spiloUID, spiloGID = 101, 103
	// The postgres image used by jobs runs as its postgres user (70).
	postgresClientUID = 70
	// Patroni labels each pod with its role; the read-write Service selects the leader.
	patroniRoleLabel   = "spilo-role"
	patroniLeaderValue = "primary"
	patroniScopeLabel  = "cluster-name"
)

// PostgresArgs configures the PostgreSQL tier.
type PostgresArgs struct {
	Namespace    pulumi.StringInput
	Settings     config.Postgres
	Pooler       config.Pooler
	Images       config.Images
	StorageClass pulumi.StringInput
	BackupClaim  pulumi.StringInput
	// Secret is the postgres credentials Secret of the secrets tier.
	Secret pulumi.StringInput
	// Rotation is the secrets keeper: when it changes, the setup job runs again and applies the
	// new application password.
	Rotation string
	// Strict places replicas on distinct nodes and zones, or not at all.
	Strict  bool
	Protect bool
}

// Postgres is the seed's data-science-database.yaml made highly available: Patroni (in the
// Spilo image) runs a primary and streaming replicas, elects a new primary on failure and keeps
// its state in the Kubernetes API; PgBouncer pools connections in front of it; a daily pg_dump
// and optional continuous WAL archiving back it up.
type Postgres struct {
	pulumi.ResourceState

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
	// Ready resolves once the StatefulSet is ready and the setup job has created the
	// application's role and database; consumers depend on it.
	Ready []pulumi.Resource
}

// NewPostgres creates the PostgreSQL tier.
func NewPostgres(ctx *pulumi.Context, name string, args *PostgresArgs, opts ...pulumi.ResourceOption) (*Postgres, error) {
	c := &Postgres{}
	if err := ctx.RegisterComponentResource(componentType("Postgres"), name, c, opts...); err != nil {
		return nil, err
	}
	s := args.Settings
	ns := args.Namespace
	parent := pulumi.Parent(c)
	host := func(svc string) pulumi.StringOutput { return pulumi.Sprintf("%s.%s.svc", svc, ns) }

	// Patroni keeps leader election and cluster state in ConfigMaps and labels pods with their
	// role: that is all the API access it needs.
	sa, err := corev1.NewServiceAccount(ctx, PostgresName, &corev1.ServiceAccountArgs{
		Metadata: objectMeta(ctx, ns, PostgresName, "postgres"),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("postgres: service account: %w", err)
	}
	role, err := rbacv1.NewRole(ctx, PostgresName, &rbacv1.RoleArgs{
		Metadata: objectMeta(ctx, ns, PostgresName, "postgres"),
		Rules: rbacv1.PolicyRuleArray{
			&rbacv1.PolicyRuleArgs{
				ApiGroups: pulumi.StringArray{pulumi.String("")}, Resources: pulumi.StringArray{pulumi.String("configmaps")},
				Verbs: pulumi.ToStringArray([]string{"create", "get", "list", "patch", "update", "watch", "delete"}),
			},
			&rbacv1.PolicyRuleArgs{
				ApiGroups: pulumi.StringArray{pulumi.String("")}, Resources: pulumi.StringArray{pulumi.String("pods")},
				Verbs: pulumi.ToStringArray([]string{"get", "list", "patch", "update", "watch"}),
			},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("postgres: role: %w", err)
	}
	binding, err := rbacv1.NewRoleBinding(ctx, PostgresName, &rbacv1.RoleBindingArgs{
		Metadata: objectMeta(ctx, ns, PostgresName, "postgres"),
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: ns,
		}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("postgres: role binding: %w", err)
	}

	podLabels := labels(ctx, "postgres")
	podLabels[patroniScopeLabel] = pulumi.String(PostgresName)
	roleSelector := func(role string) pulumi.StringMap {
		sel := selectorLabels("postgres")
		sel[patroniScopeLabel] = pulumi.String(PostgresName)
		if role != "" {
			sel[patroniRoleLabel] = pulumi.String(role)
		}
		return sel
	}
	postgresPort := servicePort("postgresql", PostgresPort)
	// The headless Service also carries Patroni's API, which the setup job talks to.
	headless, err := service(ctx, c, ns, PostgresHeadlessService, "postgres", roleSelector(""),
		corev1.ServicePortArray{postgresPort, servicePort("patroni", patroniPort)}, true)
	if err != nil {
		return nil, err
	}
	primary, err := service(ctx, c, ns, PostgresServiceName, "postgres", roleSelector(patroniLeaderValue), corev1.ServicePortArray{postgresPort}, false)
	if err != nil {
		return nil, err
	}
	if _, err := service(ctx, c, ns, PostgresReplicaService, "postgres", roleSelector("replica"), corev1.ServicePortArray{postgresPort}, false); err != nil {
		return nil, err
	}
	params := PostgresParameters(s)
	spilo, err := spiloConfiguration(params)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	envs := corev1.EnvVarArray{
		env("SCOPE", PostgresName),
		env("PGROOT", "/home/postgres/pgdata/pgroot"),
		fieldEnv("POD_IP", "status.podIP"),
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		env("DCS_ENABLE_KUBERNETES_API", "true"),
		env("KUBERNETES_USE_CONFIGMAPS", "true"),
		env("KUBERNETES_SCOPE_LABEL", patroniScopeLabel),
		env("KUBERNETES_ROLE_LABEL", patroniRoleLabel),
		env("KUBERNETES_LABELS", `{"app":"pynomaly","component":"postgres"}`),
		// Said explicitly, so the read-write Service's selector never depends on a default
		// that changed between Patroni releases.
		env("PATRONI_KUBERNETES_LEADER_LABEL_VALUE", patroniLeaderValue),
		env("PGUSER_SUPERUSER", "postgres"),
		secretEnv("PGPASSWORD_SUPERUSER", args.Secret, PostgresSuperuserPasswordKey),
		env("PGUSER_STANDBY", "standby"),
		secretEnv("PGPASSWORD_STANDBY", args.Secret, PostgresReplicationPasswordKey),
		env("SPILO_CONFIGURATION", spilo),
	}
	if w := s.WALArchive; w.S3Bucket != "" {
		// WAL-G ships every WAL segment (and Spilo's base backups) to object storage; a new
		// cluster can restore to any point in time from there.
		envs = append(envs, env("USE_WALG_BACKUP", "true"), env("USE_WALG_RESTORE", "true"),
			env("WAL_S3_BUCKET", w.S3Bucket), env("AWS_REGION", w.Region), env("BACKUP_SCHEDULE", "0 1 * * *"))
		if w.Endpoint != "" {
			envs = append(envs, env("AWS_ENDPOINT", w.Endpoint), env("AWS_S3_FORCE_PATH_STYLE", "true"))
		}
		if w.CredentialsSecret != "" {
			envs = append(envs,
				secretEnv("AWS_ACCESS_KEY_ID", pulumi.String(w.CredentialsSecret), "AWS_ACCESS_KEY_ID"),
				secretEnv("AWS_SECRET_ACCESS_KEY", pulumi.String(w.CredentialsSecret), "AWS_SECRET_ACCESS_KEY"))
		}
	}

	affinity, spreadConstraints := spread("postgres", args.Strict)
	exporter := &corev1.ContainerArgs{
		Name:  pulumi.String("exporter"),
		Image: pulumi.String(args.Images.PostgresExporter),
		Env: corev1.EnvVarArray{
			env("DATA_SOURCE_URI", fmt.Sprintf("127.0.0.1:%d/postgres?sslmode=disable", PostgresPort)),
			env("DATA_SOURCE_USER", "postgres"),
			secretEnv("DATA_SOURCE_PASS", args.Secret, PostgresSuperuserPasswordKey),
		},
		Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("metrics"), ContainerPort: pulumi.Int(postgresExporterPort)}},
		Resources:       resources(config.SidecarResources),
		SecurityContext: containerSecurity(true),
		ReadinessProbe:  readiness(httpGet("/metrics", postgresExporterPort)),
		LivenessProbe:   liveness(httpGet("/metrics", postgresExporterPort)),
	}
	sts, err := appsv1.NewStatefulSet(ctx, PostgresName, &appsv1.StatefulSetArgs{
		Metadata: objectMeta(ctx, ns, PostgresName, "postgres"),
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName: headless.Metadata.Name().Elem(),
			Replicas:    pulumi.Int(s.Replicas),
			Selector:    &metav1.LabelSelectorArgs{MatchLabels: roleSelector("")},
			// Patroni decides who leads; Kubernetes only has to keep the pods running.
			PodManagementPolicy:                  pulumi.String("Parallel"),
			PersistentVolumeClaimRetentionPolicy: statefulSetRetention(),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: podLabels, Annotations: scrapeAnnotations(postgresExporterPort)},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName:            sa.Metadata.Name().Elem(),
					SecurityContext:               podSecurity(spiloUID, spiloGID),
					Affinity:                      affinity,
					TopologySpreadConstraints:     spreadConstraints,
					TerminationGracePeriodSeconds: pulumi.Int(60),
					Containers: corev1.ContainerArray{
						&corev1.ContainerArgs{
							Name:  pulumi.String("postgres"),
							Image: pulumi.String(args.Images.Postgres),
							Env:   envs,
							Ports: corev1.ContainerPortArray{
								&corev1.ContainerPortArgs{Name: pulumi.String("postgresql"), ContainerPort: pulumi.Int(PostgresPort)},
								&corev1.ContainerPortArgs{Name: pulumi.String("patroni"), ContainerPort: pulumi.Int(patroniPort)},
							},
							Resources: resources(s.Resources),
							// Spilo writes its generated configuration under the root filesystem.
							SecurityContext: containerSecurity(false),
							// Patroni's own health endpoints: ready when running and (for a replica)
							// streaming; alive while Patroni's loop runs, even during a failover.
							ReadinessProbe: readiness(httpGet("/readiness", patroniPort)),
							LivenessProbe:  liveness(httpGet("/liveness", patroniPort)),
							VolumeMounts: corev1.VolumeMountArray{
								mount("pgdata", "/home/postgres/pgdata"),
								mount("dshm", "/dev/shm"),
							},
						},
						exporter,
					},
					Volumes: corev1.VolumeArray{emptyDir("dshm", true)},
				},
			},
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{
				claimTemplate(ctx, "pgdata", "postgres", s.StorageSize, args.StorageClass),
			},
		},
	}, parent, stateful(args.Protect),
		pulumi.DependsOn([]pulumi.Resource{binding}),
		// Creating replicas means copying the primary's data: give it the time that takes.
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "20m", Update: "20m"}))
	if err != nil {
		return nil, fmt.Errorf("postgres: statefulset: %w", err)
	}
	if _, err := podDisruptionBudget(ctx, c, ns, PostgresName, "postgres", roleSelector(""), oneAtATime); err != nil {
		return nil, err
	}

	setup, err := postgresSetupJob(ctx, c, args, host(PostgresServiceName), params, sts)
	if err != nil {
		return nil, err
	}
	if err := postgresBackup(ctx, c, args, host(PostgresReplicaService), host(PostgresServiceName)); err != nil {
		return nil, err
	}
	pooler, err := newPooler(ctx, c, args, host(PostgresServiceName), []pulumi.Resource{setup})
	if err != nil {
		return nil, err
	}

	c.Host = host(PostgresPoolerName)
	// Through the Service object, so consumers of the host wait for it to exist.
	c.PrimaryHost = pulumi.Sprintf("%s.%s.svc", primary.Metadata.Name().Elem(), ns)
	c.ReplicaHost = host(PostgresReplicaService)
	c.Port = pulumi.Int(PostgresPort).ToIntOutput()
	c.Database = pulumi.String(PostgresDatabase).ToStringOutput()
	c.SecretName = args.Secret.ToStringOutput()
	c.UserKey = pulumi.String(PostgresAppUserKey).ToStringOutput()
	c.PasswordKey = pulumi.String(PostgresAppPasswordKey).ToStringOutput()
	c.Ready = []pulumi.Resource{sts, setup, pooler}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"host": c.Host, "primaryHost": c.PrimaryHost, "replicaHost": c.ReplicaHost, "port": c.Port,
		"database": c.Database, "secretName": c.SecretName, "userKey": c.UserKey, "passwordKey": c.PasswordKey,
	})
}

// spiloConfiguration is the Patroni configuration Spilo merges into its own: the tuning as the
// cluster's initial dynamic configuration and as local parameters, so a replaced pod starts
// with it too. Later changes reach the running cluster through the setup job (PATCH /config).
func spiloConfiguration(params map[string]string) (string, error) {
	cfg := map[string]any{
		"bootstrap": map[string]any{
			"dcs": map[string]any{
				"loop_wait": 10, "ttl": 30, "retry_timeout": 10,
				// A replica more than 16 MB behind is not promoted automatically: no silent loss.
				"maximum_lag_on_failover": 16 * 1024 * 1024,
				"postgresql":              map[string]any{"use_pg_rewind": true, "use_slots": true, "parameters": params},
			},
		},
		"postgresql": map[string]any{"parameters": params},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("spilo configuration: %w", err)
	}
	return string(b), nil
}

// scrapeAnnotations tell Prometheus where a pod's metrics are.
func scrapeAnnotations(port int) pulumi.StringMap {
	return pulumi.StringMap{
		"prometheus.io/scrape": pulumi.String("true"),
		"prometheus.io/port":   pulumi.String(fmt.Sprint(port)),
		"prometheus.io/path":   pulumi.String("/metrics"),
	}
}

// oneAtATime is the disruption budget of a database: a drain or upgrade takes one pod at a time.
var oneAtATime = pulumi.Int(1)

// podDisruptionBudget bounds what a voluntary disruption (a node drain, an upgrade) may take
// down at once.
func podDisruptionBudget(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, name, component string, selector pulumi.StringMap, maxUnavailable pulumi.Input) (*policyv1.PodDisruptionBudget, error) {
	pdb, err := policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: objectMeta(ctx, ns, name, component),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: maxUnavailable,
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: selector},
		},
	}, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("%s: pod disruption budget: %w", component, err)
	}
	return pdb, nil
}

// jobPod is the pod template of a one-off or scheduled job of the data tier.
func jobPod(ctx *pulumi.Context, component, image string, uid int, script string, env corev1.EnvVarArray, volumes corev1.VolumeArray, mounts corev1.VolumeMountArray) *corev1.PodTemplateSpecArgs {
	return &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{Labels: labels(ctx, component)},
		Spec: &corev1.PodSpecArgs{
			RestartPolicy:                pulumi.String("OnFailure"),
			AutomountServiceAccountToken: pulumi.Bool(false),
			SecurityContext:              podSecurity(uid, uid),
			Containers: corev1.ContainerArray{&corev1.ContainerArgs{
				Name:            pulumi.String(component),
				Image:           pulumi.String(image),
				Command:         pulumi.StringArray{pulumi.String("/bin/sh"), pulumi.String("-ec"), pulumi.String(script)},
				Env:             env,
				Resources:       resources(config.JobResources),
				SecurityContext: containerSecurity(true),
				VolumeMounts:    append(corev1.VolumeMountArray{mount("tmp", "/tmp")}, mounts...),
			}},
			Volumes: append(corev1.VolumeArray{emptyDir("tmp", false)}, volumes...),
		},
	}
}

// postgresSetupJob makes the cluster what the application expects, idempotently, after the
// StatefulSet is ready: the application role (with the current password from the secrets tier)
// and database exist, and the tuning is the cluster's dynamic configuration. A change of either
// replaces the job, so it runs again.
func postgresSetupJob(ctx *pulumi.Context, c *Postgres, args *PostgresArgs, primaryHost pulumi.StringOutput, params map[string]string, sts pulumi.Resource) (*batchv1.Job, error) {
	dynamic, err := json.Marshal(map[string]any{"postgresql": map[string]any{"parameters": params}})
	if err != nil {
		return nil, fmt.Errorf("postgres: setup job: %w", err)
	}
	script := fmt.Sprintf(`until pg_isready -q -h "$PGHOST" -p %[1]d -U postgres; do echo "waiting for the primary"; sleep 2; done
psql -v ON_ERROR_STOP=1 -v app_user="$APP_USER" -v app_password="$APP_PASSWORD" -v db="$APP_DATABASE" <<'SQL'
SELECT format('CREATE ROLE %%I LOGIN', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';
SELECT format('CREATE DATABASE %%I OWNER %%I', :'db', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
# Any member accepts the cluster's dynamic configuration; parameters that need a restart are
# then listed as pending (patronictl list) until an operator runs: patronictl restart --pending
curl -fsS -X PATCH -H 'Content-Type: application/json' -d "$PATRONI_DYNAMIC_CONFIG" "http://%[2]s-0.%[3]s:%[4]d/config"
echo "postgres setup done"`, PostgresPort, PostgresName, PostgresHeadlessService, patroniPort)
	pod := jobPod(ctx, "postgres-setup", args.Images.Postgres, spiloUID, script, corev1.EnvVarArray{
		&corev1.EnvVarArgs{Name: pulumi.String("PGHOST"), Value: primaryHost},
		env("PGUSER", "postgres"),
		env("PGDATABASE", "postgres"),
		secretEnv("PGPASSWORD", args.Secret, PostgresSuperuserPasswordKey),
		env("APP_USER", PostgresAppUser),
		secretEnv("APP_PASSWORD", args.Secret, PostgresAppPasswordKey),
		env("APP_DATABASE", PostgresDatabase),
		env("PATRONI_DYNAMIC_CONFIG", string(dynamic)),
	}, nil, nil)
	// The keeper of the generated credentials: a rotation changes the template and reruns the job.
	pod.Metadata.(*metav1.ObjectMetaArgs).Annotations = pulumi.StringMap{"pynomaly.io/credentials-rotation": pulumi.String(args.Rotation)}
	job, err := batchv1.NewJob(ctx, PostgresSetupJob, &batchv1.JobArgs{
		Metadata: objectMeta(ctx, args.Namespace, PostgresSetupJob, "postgres-setup"),
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:          pulumi.Int(6),
			ActiveDeadlineSeconds: pulumi.Int(900),
			Template:              pod,
		},
	}, pulumi.Parent(c), pulumi.DependsOn([]pulumi.Resource{sts}),
		// A Job's template is immutable and its name fixed: a change deletes and reruns it.
		pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("postgres: setup job: %w", err)
	}
	return job, nil
}

// postgresBackup is the seed's daily pg_dump (02:00) into the backup claim, from a replica when
// there is one, keeping RetentionDays of dumps. A dump is written under a temporary name and
// renamed when complete, so a failed run never leaves a truncated file that looks good.
func postgresBackup(ctx *pulumi.Context, c *Postgres, args *PostgresArgs, replicaHost, primaryHost pulumi.StringOutput) error {
	b := args.Settings.Backup
	source := primaryHost
	if args.Settings.Replicas > 1 {
		source = replicaHost
	}
	script := fmt.Sprintf(`f="/backup/%[1]s-$(date -u +%%Y%%m%%dT%%H%%M%%SZ).dump"
pg_dump -h "$PGHOST" -p %[2]d -d %[1]s -Fc -f "$f.partial"
mv "$f.partial" "$f"
find /backup -name '%[1]s-*.dump' -mtime +%[3]d -print -delete
find /backup -name '*.partial' -mmin +%[4]d -print -delete
echo "backup written: $f ($(du -h "$f" | cut -f1))"`, PostgresDatabase, PostgresPort, b.RetentionDays, b.DeadlineSeconds/60)
	pod := jobPod(ctx, "postgres-backup", args.Images.PostgresClient, postgresClientUID, script, corev1.EnvVarArray{
		&corev1.EnvVarArgs{Name: pulumi.String("PGHOST"), Value: source},
		env("PGUSER", "postgres"),
		secretEnv("PGPASSWORD", args.Secret, PostgresSuperuserPasswordKey),
	}, corev1.VolumeArray{&corev1.VolumeArgs{
		Name:                  pulumi.String("backup"),
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: args.BackupClaim},
	}}, corev1.VolumeMountArray{mount("backup", "/backup")})
	_, err := batchv1.NewCronJob(ctx, PostgresBackupCronJob, &batchv1.CronJobArgs{
		Metadata: objectMeta(ctx, args.Namespace, PostgresBackupCronJob, "postgres-backup"),
		Spec: &batchv1.CronJobSpecArgs{
			Schedule:                   pulumi.String(b.Schedule),
			TimeZone:                   pulumi.String(b.TimeZone),
			ConcurrencyPolicy:          pulumi.String("Forbid"),
			StartingDeadlineSeconds:    pulumi.Int(3600),
			SuccessfulJobsHistoryLimit: pulumi.Int(3),
			FailedJobsHistoryLimit:     pulumi.Int(5),
			JobTemplate: &batchv1.JobTemplateSpecArgs{
				Spec: &batchv1.JobSpecArgs{
					BackoffLimit:          pulumi.Int(2),
					ActiveDeadlineSeconds: pulumi.Int(b.DeadlineSeconds),
					Template:              pod,
				},
			},
		},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("postgres: backup cronjob: %w", err)
	}
	return nil
}
