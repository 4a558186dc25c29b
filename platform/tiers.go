package platform

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/netpol"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/rotation"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// tierStep is one entry of the list of tiers: the name its errors carry, and the method that
// declares its component and keeps it in its Platform field, where the tiers after it read it.
type tierStep struct {
	name    string
	declare func(*pulumi.Context, pulumi.ResourceOption) (tier.Component, error)
}

// tiers is the one list of the platform's tiers, in the order they are declared: each reads the
// ones before it. What RegisterOutputs is given (Components) and what the cross-cutting tiers are
// generated from (Workloads) are what this list declared, so a new tier is one entry here.
func (p *Platform) tiers() []tierStep {
	return []tierStep{
		// The foundation: the namespace (quota, limits, Pod Security), the Roles of people and CI,
		// storage, credentials and the internal CA.
		{"namespace tier", p.namespace},
		{"access", p.access},
		{"storage tier", p.storage},
		{"secrets tier", p.secrets},
		{"internal tls", p.internalTLS},
		// The data tier: each database is awaited until ready (StatefulSet readiness, then its
		// setup job); their Ready lists are what consumers depend on.
		{"postgres tier", p.postgres},
		{"redis tier", p.redis},
		{"influxdb tier", p.influxDB},
		// The config and app tiers: the migration runs once the databases are ready, and has run
		// before the API and workers are created; the rotation ends after every client rolled.
		{"config tier", p.appConfig},
		{"migration", p.migration},
		{"api tier", p.api},
		{"worker tier", p.worker},
		{"rotation", p.rotation},
		{"edge tier", p.edge},
		// Generated from every workload declared before them, so they come last, security after
		// monitoring's own workloads.
		{"monitoring tier", p.monitoring},
		{"security tier", p.security},
	}
}

func (p *Platform) namespace(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Namespace, err = foundation.NewNamespace(ctx, "namespace", &foundation.NamespaceArgs{
		Name: s.Namespace, Security: s.Security, Quota: s.Quota, LimitRange: s.LimitRange, Protect: s.ProtectState(),
	}, tier)
	return p.Namespace, err
}

func (p *Platform) access(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Access, err = foundation.NewAccess(ctx, "access", &foundation.AccessArgs{
		Context: p.shared(), Settings: s.Access, PreflightReads: preflightReads(s),
	}, tier)
	return p.Access, err
}

func (p *Platform) storage(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Storage, err = foundation.NewStorage(ctx, "storage", &foundation.StorageArgs{
		Context: p.shared(), Storage: s.Storage,
		Rendered:     s.Kubernetes.RenderYamlToDirectory != "",
		KubectlImage: s.Images.Kubectl,
	}, tier)
	return p.Storage, err
}

func (p *Platform) secrets(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Secrets, err = credentials.New(ctx, "secrets", &credentials.Args{
		Context: p.shared(), Generations: generations(s), Credentials: s.Credentials,
	}, tier)
	return p.Secrets, err
}

func (p *Platform) internalTLS(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.TLS, err = foundation.NewInternalTLS(ctx, "tls", &foundation.InternalTLSArgs{
		Context: p.shared(), Settings: s.TLS, Servers: foundation.TLSServers(s),
	}, tier)
	return p.TLS, err
}

func (p *Platform) postgres(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Postgres, err = postgres.New(ctx, "postgres", &postgres.Args{
		Context: p.shared(), Settings: s.Postgres, Pooler: s.Pooler, Images: s.Images,
		Volumes: p.Storage.Volumes, BackupClaim: p.Storage.BackupClaim, Secret: p.Secrets.Postgres,
		Generation: s.PostgresAppGeneration(),
	}, tier)
	return p.Postgres, err
}

func (p *Platform) redis(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Redis, err = redis.New(ctx, "redis", &redis.Args{
		Context: p.shared(), Queue: s.RedisQueue, Cache: s.RedisCache, Image: s.Images.Redis, Exporter: s.Images.RedisExporter,
		Volumes: p.Storage.Volumes, Secret: p.Secrets.Redis, Generation: s.RedisGeneration(),
	}, tier)
	return p.Redis, err
}

func (p *Platform) influxDB(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.InfluxDB, err = influxdb.New(ctx, "influxdb", &influxdb.Args{
		Context: p.shared(), Settings: s.InfluxDB, Image: s.Images.InfluxDB,
		Volumes: p.Storage.Volumes, Secret: p.Secrets.InfluxDB,
		BackupClaim: p.Storage.BackupClaim,
	}, tier)
	return p.InfluxDB, err
}

func (p *Platform) appConfig(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.AppConfig, err = app.NewConfig(ctx, "config", &app.ConfigArgs{
		Context: p.shared(), Environment: string(s.Environment), LogLevel: s.LogLevel,
		DatabaseHost: p.Postgres.Host, Queue: p.Redis.Queue, Cache: p.Redis.Cache, InfluxDBURL: p.InfluxDB.URL,
	}, tier)
	return p.AppConfig, err
}

// shared is what every tier is given (tier.Context), from the settings and the Namespace.
func (p *Platform) shared() tier.Context {
	s := p.settings
	return tier.Context{Namespace: p.Namespace.Name, TLS: s.TLS.Internal, Spread: spread(s.Placement), Protect: s.ProtectState()}
}

// databases are what a client of the data tier waits for: every database's Ready list.
func (p *Platform) databases() []pulumi.Resource {
	return append(append(append([]pulumi.Resource{}, p.Postgres.Ready...), p.Redis.Ready...), p.InfluxDB.Ready...)
}

// appEnv is what the migration, the API and the workers are configured with, the same for all three.
func (p *Platform) appEnv() app.Env {
	s := p.settings
	return app.Env{
		ConfigMap: p.AppConfig.ConfigMapName, PostgresSecret: p.Secrets.Postgres, RedisSecret: p.Secrets.Redis,
		InfluxDBSecret: p.Secrets.InfluxDB, Generations: generations(s), PostgresClientImage: s.Images.PostgresClient, RedisImage: s.Images.Redis,
		ModelClaim: p.Storage.ModelClaim, ModelsShared: s.Storage.ModelAccessMode == "ReadWriteMany",
	}
}

// migration runs once the databases are ready.
func (p *Platform) migration(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	var err error
	p.Migration, err = app.NewMigration(ctx, "migration", &app.MigrationArgs{
		Context: p.shared(), Image: p.settings.Images.API, Env: p.appEnv(), PrimaryHost: p.Postgres.PrimaryHost,
		After: p.databases(),
	}, tier)
	return p.Migration, err
}

// api starts after the databases and the migration.
func (p *Platform) api(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.API, err = app.NewAPI(ctx, "api", &app.APIArgs{
		Context: p.shared(), Settings: s.API, Image: s.Images.API, Env: p.appEnv(), APISecret: p.Secrets.API,
		After: append(p.databases(), p.Migration.Job),
	}, tier)
	return p.API, err
}

// worker starts after the databases and the migration.
func (p *Platform) worker(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Worker, err = app.NewWorker(ctx, "worker", &app.WorkerArgs{
		Context: p.shared(), Settings: s.Worker, Image: s.Images.Worker, Env: p.appEnv(),
		After: append(p.databases(), p.Migration.Job),
	}, tier)
	return p.Worker, err
}

// rotation ends a credential rotation after every client of the credentials rolled: the pooler,
// the migration, the API and the workers (the Redis pods and the exporters in them roll with
// their StatefulSets, before the clients).
func (p *Platform) rotation(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	after := append(append(append([]pulumi.Resource{}, p.Postgres.Ready...), p.Redis.Ready...), p.Migration.Job)
	after = append(append(after, p.API.Ready...), p.Worker.Ready...)
	var err error
	p.Rotation, err = rotation.New(ctx, "rotation", &rotation.Args{
		Context: p.shared(), Generations: generations(s),
		PostgresSecret: p.Secrets.Postgres, RedisSecret: p.Secrets.Redis, PrimaryHost: p.Postgres.PrimaryHost,
		Redis: p.Redis.Pods, Images: s.Images, After: after,
		DrainSeconds: app.ClientsGracePeriod(s.Worker) + rotationKillMargin,
	}, tier)
	return p.Rotation, err
}

// rotationKillMargin is the time past a grace period for the kubelet to kill a pod and the API
// server to forget it.
const rotationKillMargin = 30

// generations are the rotating credentials' current generations.
func generations(s *config.Settings) credentials.Generations {
	return credentials.Generations{PostgresApp: s.PostgresAppGeneration(), Redis: s.RedisGeneration()}
}

// edge is Nginx in front of the API and the entry point from outside. Its configuration names
// the API Service, so the engine creates that Service first (nginx resolves it at start).
func (p *Platform) edge(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Edge, err = edge.New(ctx, "edge", &edge.Args{
		Context: p.shared(), Settings: s.Edge, Image: s.Images.Nginx, Exporter: s.Images.NginxExporter,
		APIService: p.API.ServiceName, APIPort: app.APIPort,
	}, tier)
	return p.Edge, err
}

// monitoring is Prometheus, Grafana and, from the full level on, Alertmanager and
// kube-state-metrics. Its scrape jobs are generated from every workload declared so far.
func (p *Platform) monitoring(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	var err error
	p.Monitoring, err = monitoring.New(ctx, "monitoring", &monitoring.Args{
		Context: p.shared(), Environment: string(s.Environment), Level: s.Monitoring,
		Prometheus: s.Prometheus, Alertmanager: s.Alertmanager, Grafana: s.Grafana, Images: s.Images,
		Volumes: p.Storage.Volumes, GrafanaSecret: p.Secrets.Grafana, Workloads: p.Workloads(),
		InfluxDBURL: p.InfluxDB.URL, InfluxDBSecret: p.InfluxDB.SecretName,
		AlertWebhookURL:    string(s.Credentials.AlertmanagerWebhookURL),
		CertManagerMetrics: certManagerMetrics(s.Edge),
		QueueScaling:       s.Worker.QueueScaling, MetricsAdapterReplicas: s.MetricsAdapterReplicas(),
		WALArchiving: s.Postgres.WALArchive.S3Bucket != "", Operator: !s.Bundled(),
	}, tier)
	return p.Monitoring, err
}

// security is the namespace's NetworkPolicies, generated from every workload: it comes last, so
// that it sees all of them.
func (p *Platform) security(ctx *pulumi.Context, tier pulumi.ResourceOption) (tier.Component, error) {
	s := p.settings
	e := s.Edge
	var err error
	p.Security, err = netpol.New(ctx, "security", &netpol.Args{
		Context: p.shared(), Workloads: p.Workloads(), Network: s.Network,
		Exposed: e.Exposed(), ACMESolver: e.TLSOn() && e.TLS.Issuer.Create == config.CreateACME,
		OperatorPrometheus: !s.Bundled(), ObjectStoragePort: s.Postgres.WALArchive.StorePort(),
		ReceiverPorts: s.Alertmanager.Receivers.Ports(), CertManagerScraped: s.Bundled() && certManagerMetrics(e) != "",
	}, tier)
	return p.Security, err
}

// certManagerMetrics is where Prometheus reads the certificate's expiry: cert-manager's standard
// address when the entry point has a certificate, nothing otherwise.
func certManagerMetrics(e config.Edge) string {
	if !e.TLSOn() {
		return ""
	}
	return monitoring.CertManagerMetrics
}
