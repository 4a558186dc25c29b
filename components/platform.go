package components

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

// Platform is the whole Pynomaly deployment: the tiers of DESIGN.md, built in order, each on the
// one explicit Kubernetes provider.
type Platform struct {
	pulumi.ResourceState

	Provider  *kubernetes.Provider
	Namespace *Namespace
	Storage   *Storage
	Secrets   *Secrets
	Postgres  *Postgres
	Redis     *Redis
	InfluxDB  *InfluxDB
	AppConfig *AppConfig
	Migration *Migration
	API       *API
	Worker    *Worker

	settings *config.Settings
}

// NewPlatform builds every tier from validated settings.
func NewPlatform(ctx *pulumi.Context, name string, s *config.Settings, opts ...pulumi.ResourceOption) (*Platform, error) {
	p := &Platform{settings: s}
	if err := ctx.RegisterComponentResource(componentType("Platform"), name, p, opts...); err != nil {
		return nil, err
	}

	var err error
	if p.Provider, err = newProvider(ctx, p, s.Kubernetes); err != nil {
		return nil, err
	}
	// Every tier gets the provider; children inherit it from their parent component.
	tier := pulumi.Composite(pulumi.Parent(p), pulumi.Providers(p.Provider))
	protect := s.ProtectState()

	if p.Namespace, err = NewNamespace(ctx, "namespace", &NamespaceArgs{
		Name: s.Namespace, Security: s.Security, Quota: s.Quota, LimitRange: s.LimitRange, Protect: protect,
	}, tier); err != nil {
		return nil, fmt.Errorf("namespace tier: %w", err)
	}
	ns := p.Namespace.Name

	if p.Storage, err = NewStorage(ctx, "storage", &StorageArgs{
		Namespace: ns, Storage: s.Storage, Protect: protect,
	}, tier); err != nil {
		return nil, fmt.Errorf("storage tier: %w", err)
	}
	if p.Secrets, err = NewSecrets(ctx, "secrets", &SecretsArgs{
		Namespace: ns, Rotation: s.Secrets.Rotation, Credentials: s.Credentials,
	}, tier); err != nil {
		return nil, fmt.Errorf("secrets tier: %w", err)
	}

	// Data tier. Each database is awaited until ready (StatefulSet readiness, then its setup
	// job); Ready lists what consumers must depend on.
	strict := s.Security == config.Strict
	if p.Postgres, err = NewPostgres(ctx, "postgres", &PostgresArgs{
		Namespace: ns, Settings: s.Postgres, Pooler: s.Pooler, Images: s.Images,
		StorageClass: p.Storage.ClassName, BackupClaim: p.Storage.BackupClaim, Secret: p.Secrets.Postgres,
		Rotation: s.Secrets.Rotation, Strict: strict, Protect: protect,
	}, tier); err != nil {
		return nil, fmt.Errorf("postgres tier: %w", err)
	}
	if p.Redis, err = NewRedis(ctx, "redis", &RedisArgs{
		Namespace: ns, Queue: s.RedisQueue, Cache: s.RedisCache, Image: s.Images.Redis, Exporter: s.Images.RedisExporter,
		StorageClass: p.Storage.ClassName, Secret: p.Secrets.Redis, Strict: strict, Protect: protect,
	}, tier); err != nil {
		return nil, fmt.Errorf("redis tier: %w", err)
	}
	if p.InfluxDB, err = NewInfluxDB(ctx, "influxdb", &InfluxDBArgs{
		Namespace: ns, Settings: s.InfluxDB, Image: s.Images.InfluxDB,
		StorageClass: p.Storage.ClassName, Secret: p.Secrets.InfluxDB, Protect: protect,
	}, tier); err != nil {
		return nil, fmt.Errorf("influxdb tier: %w", err)
	}

	// Config tier: what API and workers read, taken from the data tier's endpoints.
	if p.AppConfig, err = NewAppConfig(ctx, "config", &AppConfigArgs{
		Namespace: ns, Environment: string(s.Environment), LogLevel: s.LogLevel,
		DatabaseHost: p.Postgres.Host, Queue: p.Redis.Queue, Cache: p.Redis.Cache, InfluxDBURL: p.InfluxDB.URL,
	}, tier); err != nil {
		return nil, fmt.Errorf("config tier: %w", err)
	}

	// App tier. The databases are ready (awaited StatefulSets and setup jobs) before the
	// migration runs, and the migration has run before the API and workers are created.
	databases := append(append(append([]pulumi.Resource{}, p.Postgres.Ready...), p.Redis.Ready...), p.InfluxDB.Ready...)
	appEnv := AppEnv{
		ConfigMap: p.AppConfig.ConfigMapName, PostgresSecret: p.Secrets.Postgres, RedisSecret: p.Secrets.Redis,
		InfluxDBSecret: p.Secrets.InfluxDB, PostgresClientImage: s.Images.PostgresClient, RedisImage: s.Images.Redis,
	}
	if p.Migration, err = NewMigration(ctx, "migration", &MigrationArgs{
		Namespace: ns, Image: s.Images.API, Env: appEnv, PrimaryHost: p.Postgres.PrimaryHost, After: databases,
	}, tier); err != nil {
		return nil, fmt.Errorf("migration: %w", err)
	}
	app := append(databases, p.Migration.Job)
	if p.API, err = NewAPI(ctx, "api", &APIArgs{
		Namespace: ns, Settings: s.API, Image: s.Images.API, Env: appEnv, APISecret: p.Secrets.API, After: app,
	}, tier); err != nil {
		return nil, fmt.Errorf("api tier: %w", err)
	}
	if p.Worker, err = NewWorker(ctx, "worker", &WorkerArgs{
		Namespace: ns, Settings: s.Worker, Image: s.Images.Worker, Env: appEnv, After: app,
	}, tier); err != nil {
		return nil, fmt.Errorf("worker tier: %w", err)
	}

	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{
		"namespace":    ns,
		"storageClass": p.Storage.ClassName,
		"appConfigMap": p.AppConfig.ConfigMapName,
		"secretNames":  p.Secrets.Names(),
	})
}

// KubernetesPluginVersion is the pulumi-resource-kubernetes version the engine loads.
const KubernetesPluginVersion = "4.25.0"

// newProvider is the one Kubernetes provider of the stack: the kubeconfig and context from the
// settings when given, the ambient kubeconfig otherwise, or no cluster at all when manifests are
// rendered to a directory.
func newProvider(ctx *pulumi.Context, parent pulumi.Resource, k config.Kubernetes) (*kubernetes.Provider, error) {
	args := &kubernetes.ProviderArgs{}
	if k.Kubeconfig != "" {
		args.Kubeconfig = pulumi.StringPtr(k.Kubeconfig)
	}
	if k.Context != "" {
		args.Context = pulumi.StringPtr(k.Context)
	}
	if k.RenderYamlToDirectory != "" {
		args.RenderYamlToDirectory = pulumi.StringPtr(k.RenderYamlToDirectory)
	}
	prov, err := kubernetes.NewProvider(ctx, "kubernetes", args, pulumi.Parent(parent),
		// The plugin this program is tested with; the SDK in go.mod (v4.22.2) is the nearest
		// the module proxy serves that is not newer than it.
		pulumi.Version(KubernetesPluginVersion))
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider: %w", err)
	}
	return prov, nil
}

// Outputs are the stack outputs: what operators and other stacks address. Names, never values.
func (p *Platform) Outputs() map[string]pulumi.Input {
	out := map[string]pulumi.Input{
		"environment":  pulumi.String(p.settings.Environment),
		"namespace":    p.Namespace.Name,
		"storageClass": p.Storage.ClassName,
		"backupClaim":  p.Storage.BackupClaim,
		"modelClaim":   p.Storage.ModelClaim,
		"appConfigMap": p.AppConfig.ConfigMapName,
		"secretNames":  p.Secrets.Names(),
		"postgres": pulumi.Map{
			"host": p.Postgres.Host, "primaryHost": p.Postgres.PrimaryHost, "replicaHost": p.Postgres.ReplicaHost,
			"port": p.Postgres.Port, "database": p.Postgres.Database, "secretName": p.Postgres.SecretName,
		},
		"redisQueue": redisOutput(p.Redis.Queue),
		"redisCache": redisOutput(p.Redis.Cache),
		"influxdb":   pulumi.Map{"url": p.InfluxDB.URL, "org": pulumi.String(p.InfluxDB.Org), "bucket": pulumi.String(p.InfluxDB.Bucket)},
		"api":        pulumi.Map{"serviceName": p.API.ServiceName, "url": p.API.URL},
		"worker":     pulumi.Map{"deploymentName": p.Worker.DeploymentName},
	}
	if dir := p.settings.Kubernetes.RenderYamlToDirectory; dir != "" {
		out["renderedManifests"] = pulumi.String(dir)
	}
	return out
}

func redisOutput(e RedisEndpoint) pulumi.Map {
	return pulumi.Map{"host": e.Host, "port": pulumi.Int(e.Port), "sentinelMaster": pulumi.String(e.SentinelMaster)}
}
