package platform

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/components"
	"github.com/pynomaly/pynomaly-platform/config"
)

// foundation is the namespace (quota, limits, Pod Security), the Roles of people and CI,
// storage and credentials.
func (p *Platform) foundation(ctx *pulumi.Context, tier pulumi.ResourceOption) error {
	s := p.settings
	var err error
	if p.Namespace, err = components.NewNamespace(ctx, "namespace", &components.NamespaceArgs{
		Name: s.Namespace, Security: s.Security, Quota: s.Quota, LimitRange: s.LimitRange, Protect: s.ProtectState(),
	}, tier); err != nil {
		return fmt.Errorf("namespace tier: %w", err)
	}
	if p.Access, err = components.NewAccess(ctx, "access", &components.AccessArgs{
		Namespace: p.Namespace.Name, Settings: s.Access, PreflightReads: preflightReads(s),
	}, tier); err != nil {
		return fmt.Errorf("access: %w", err)
	}
	if p.Storage, err = components.NewStorage(ctx, "storage", &components.StorageArgs{
		Namespace: p.Namespace.Name, Storage: s.Storage, Protect: s.ProtectState(),
		Rendered:     s.Kubernetes.RenderYamlToDirectory != "",
		KubectlImage: s.Images.Kubectl, PullPolicy: s.Images.PullPolicy,
	}, tier); err != nil {
		return fmt.Errorf("storage tier: %w", err)
	}
	if p.Secrets, err = components.NewSecrets(ctx, "secrets", &components.SecretsArgs{
		Namespace: p.Namespace.Name, Generations: generations(s), Credentials: s.Credentials, Protect: s.ProtectState(),
	}, tier); err != nil {
		return fmt.Errorf("secrets tier: %w", err)
	}
	if p.TLS, err = components.NewInternalTLS(ctx, "tls", &components.InternalTLSArgs{
		Namespace: p.Namespace.Name, Settings: s.TLS, Servers: components.TLSServers(s),
	}, tier); err != nil {
		return fmt.Errorf("internal tls: %w", err)
	}
	return nil
}

// data is the data tier. Each database is awaited until ready (StatefulSet readiness, then its
// setup job); their Ready lists are what consumers depend on.
func (p *Platform) data(ctx *pulumi.Context, tier pulumi.ResourceOption) error {
	s, ns := p.settings, p.Namespace.Name
	var err error
	if p.Postgres, err = components.NewPostgres(ctx, "postgres", &components.PostgresArgs{
		Namespace: ns, Settings: s.Postgres, Pooler: s.Pooler, Images: s.Images,
		Volumes: p.Storage.Volumes, BackupClaim: p.Storage.BackupClaim, Secret: p.Secrets.Postgres,
		Generation: s.PostgresAppGeneration(), Spread: spread(s.Placement),
		TLS: s.TLS.Internal,
	}, tier); err != nil {
		return fmt.Errorf("postgres tier: %w", err)
	}
	if p.Redis, err = components.NewRedis(ctx, "redis", &components.RedisArgs{
		Namespace: ns, Queue: s.RedisQueue, Cache: s.RedisCache, Image: s.Images.Redis, Exporter: s.Images.RedisExporter,
		PullPolicy: s.Images.PullPolicy,
		Volumes:    p.Storage.Volumes, Secret: p.Secrets.Redis, Generation: s.RedisGeneration(),
		Spread: spread(s.Placement),
		TLS:    s.TLS.Internal,
	}, tier); err != nil {
		return fmt.Errorf("redis tier: %w", err)
	}
	if p.InfluxDB, err = components.NewInfluxDB(ctx, "influxdb", &components.InfluxDBArgs{
		Namespace: ns, Settings: s.InfluxDB, Image: s.Images.InfluxDB, PullPolicy: s.Images.PullPolicy,
		Volumes: p.Storage.Volumes, Secret: p.Secrets.InfluxDB, TLS: s.TLS.Internal,
		BackupClaim: p.Storage.BackupClaim,
	}, tier); err != nil {
		return fmt.Errorf("influxdb tier: %w", err)
	}
	return nil
}

// app is the config tier and the app tier. The databases are ready (awaited StatefulSets and
// setup jobs) before the migration runs, and the migration has run before the API and workers
// are created.
func (p *Platform) app(ctx *pulumi.Context, tier pulumi.ResourceOption) error {
	s, ns := p.settings, p.Namespace.Name
	var err error
	if p.AppConfig, err = components.NewAppConfig(ctx, "config", &components.AppConfigArgs{
		Namespace: ns, Environment: string(s.Environment), LogLevel: s.LogLevel,
		DatabaseHost: p.Postgres.Host, Queue: p.Redis.Queue, Cache: p.Redis.Cache, InfluxDBURL: p.InfluxDB.URL,
		TLS: s.TLS.Internal,
	}, tier); err != nil {
		return fmt.Errorf("config tier: %w", err)
	}
	databases := append(append(append([]pulumi.Resource{}, p.Postgres.Ready...), p.Redis.Ready...), p.InfluxDB.Ready...)
	env := components.AppEnv{
		ConfigMap: p.AppConfig.ConfigMapName, PostgresSecret: p.Secrets.Postgres, RedisSecret: p.Secrets.Redis,
		InfluxDBSecret: p.Secrets.InfluxDB, Generations: generations(s), PostgresClientImage: s.Images.PostgresClient, RedisImage: s.Images.Redis,
		PullPolicy: s.Images.PullPolicy, TLS: s.TLS.Internal,
		ModelClaim: p.Storage.ModelClaim, ModelsShared: s.Storage.ModelAccessMode == "ReadWriteMany",
	}
	if p.Migration, err = components.NewMigration(ctx, "migration", &components.MigrationArgs{
		Namespace: ns, Image: s.Images.API, Env: env, PrimaryHost: p.Postgres.PrimaryHost, After: databases,
	}, tier); err != nil {
		return fmt.Errorf("migration: %w", err)
	}
	after := append(databases, p.Migration.Job)
	if p.API, err = components.NewAPI(ctx, "api", &components.APIArgs{
		Namespace: ns, Settings: s.API, Image: s.Images.API, Env: env, APISecret: p.Secrets.API, After: after,
	}, tier); err != nil {
		return fmt.Errorf("api tier: %w", err)
	}
	if p.Worker, err = components.NewWorker(ctx, "worker", &components.WorkerArgs{
		Namespace: ns, Settings: s.Worker, Image: s.Images.Worker, Env: env, After: after,
	}, tier); err != nil {
		return fmt.Errorf("worker tier: %w", err)
	}
	return p.rotation(ctx, tier)
}

// rotation ends a credential rotation after every client of the credentials rolled: the pooler,
// the migration, the API and the workers (the Redis pods and the exporters in them roll with
// their StatefulSets, before the clients).
func (p *Platform) rotation(ctx *pulumi.Context, tier pulumi.ResourceOption) error {
	s := p.settings
	after := append(append(append([]pulumi.Resource{}, p.Postgres.Ready...), p.Redis.Ready...), p.Migration.Job)
	after = append(append(after, p.API.Ready...), p.Worker.Ready...)
	var err error
	if p.Rotation, err = components.NewRotation(ctx, "rotation", &components.RotationArgs{
		Namespace: p.Namespace.Name, Generations: generations(s),
		PostgresSecret: p.Secrets.Postgres, RedisSecret: p.Secrets.Redis, PrimaryHost: p.Postgres.PrimaryHost,
		Redis: p.Redis.Pods, Images: s.Images, TLS: s.TLS.Internal, After: after,
		DrainSeconds: components.ClientsGracePeriod(s.Worker) + rotationKillMargin,
	}, tier); err != nil {
		return fmt.Errorf("rotation: %w", err)
	}
	return nil
}

// rotationKillMargin is the time past a grace period for the kubelet to kill a pod and the API
// server to forget it.
const rotationKillMargin = 30

// generations are the rotating credentials' current generations.
func generations(s *config.Settings) components.Generations {
	return components.Generations{PostgresApp: s.PostgresAppGeneration(), Redis: s.RedisGeneration()}
}

// edge is Nginx in front of the API and the entry point from outside. Its configuration names
// the API Service, so the engine creates that Service first (nginx resolves it at start).
func (p *Platform) edge(ctx *pulumi.Context, tier pulumi.ResourceOption) error {
	s := p.settings
	var err error
	if p.Edge, err = components.NewEdge(ctx, "edge", &components.EdgeArgs{
		Namespace: p.Namespace.Name, Settings: s.Edge, Image: s.Images.Nginx, Exporter: s.Images.NginxExporter,
		PullPolicy: s.Images.PullPolicy,
		APIService: p.API.ServiceName, APIPort: components.APIPort,
	}, tier); err != nil {
		return fmt.Errorf("edge tier: %w", err)
	}
	return nil
}

// monitoring is Prometheus, Grafana and, from the full level on, Alertmanager and
// kube-state-metrics. Its scrape jobs are generated from every workload declared so far.
func (p *Platform) monitoring(ctx *pulumi.Context, tier pulumi.ResourceOption) error {
	s := p.settings
	var err error
	if p.Monitoring, err = components.NewMonitoring(ctx, "monitoring", &components.MonitoringArgs{
		Namespace: p.Namespace.Name, Environment: string(s.Environment), Level: s.Monitoring,
		Prometheus: s.Prometheus, Alertmanager: s.Alertmanager, Grafana: s.Grafana, Images: s.Images,
		Volumes: p.Storage.Volumes, GrafanaSecret: p.Secrets.Grafana, Workloads: p.Workloads(),
		InfluxDBURL: p.InfluxDB.URL, InfluxDBSecret: p.InfluxDB.SecretName,
		AlertWebhookURL:    string(s.Credentials.AlertmanagerWebhookURL),
		CertManagerMetrics: certManagerMetrics(s.Edge),
		QueueScaling:       s.Worker.QueueScaling, MetricsAdapterReplicas: s.MetricsAdapterReplicas(),
		WALArchiving: s.Postgres.WALArchive.S3Bucket != "", Operator: !s.Bundled(), TLS: s.TLS.Internal,
	}, tier); err != nil {
		return fmt.Errorf("monitoring tier: %w", err)
	}
	return nil
}

// security is the namespace's NetworkPolicies, generated from every workload: it comes last, so
// that it sees all of them.
func (p *Platform) security(ctx *pulumi.Context, tier pulumi.ResourceOption) error {
	s := p.settings
	e := s.Edge
	var err error
	if p.Security, err = components.NewSecurity(ctx, "security", &components.SecurityArgs{
		Namespace: p.Namespace.Name, Workloads: p.Workloads(), Network: s.Network,
		Exposed: e.Exposed(), ACMESolver: e.TLSOn() && e.TLS.Issuer.Create == config.CreateACME,
		OperatorPrometheus: !s.Bundled(), ObjectStoragePort: s.Postgres.WALArchive.StorePort(),
		ReceiverPorts: s.Alertmanager.Receivers.Ports(), CertManagerScraped: s.Bundled() && certManagerMetrics(e) != "",
	}, tier); err != nil {
		return fmt.Errorf("security tier: %w", err)
	}
	return nil
}

// certManagerMetrics is where Prometheus reads the certificate's expiry: cert-manager's standard
// address when the entry point has a certificate, nothing otherwise.
func certManagerMetrics(e config.Edge) string {
	if !e.TLSOn() {
		return ""
	}
	return components.CertManagerMetrics
}
