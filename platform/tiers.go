package platform

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/edge"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/logging"
	"github.com/pynomaly/pynomaly-platform/monitoring"
	"github.com/pynomaly/pynomaly-platform/netpol"
	"github.com/pynomaly/pynomaly-platform/nodeagents"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/rotation"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Platform is the whole Pynomaly deployment: foundation, data, config, app, edge, monitoring and
// security tiers, built in the order of the list in tiers.go, each on the one explicit Kubernetes
// provider. Its type token and its children's names are part of every URN: see the golden test
// before renaming anything here.
type Platform struct {
	pulumi.ResourceState

	Provider   *kubernetes.Provider
	Namespace  *foundation.Namespace
	Access     *foundation.Access
	Admission  *foundation.Admission
	Storage    *foundation.Storage
	Secrets    *credentials.Secrets
	TLS        *foundation.InternalTLS
	Postgres   *postgres.Postgres
	Redis      *redis.Redis
	InfluxDB   *influxdb.InfluxDB
	AppConfig  *app.AppConfig
	Migration  *app.Migration
	API        *app.API
	Worker     *app.Worker
	Models     *app.ModelsBackup
	Rotation   *rotation.Rotation
	Edge       *edge.Edge
	LogStore   *logging.LogStore
	NodeAgents *nodeagents.NodeAgents
	Monitoring *monitoring.Monitoring
	Security   *netpol.Security
	// NodeSecurity is the node agents' namespace's NetworkPolicies.
	NodeSecurity *netpol.Security

	settings *config.Settings
	// plans are every tier's, computed before anything is declared, in the order of the list:
	// those of the platform's namespace, and nodePlans those of the node agents' namespace.
	plans, nodePlans []tierPlan
	// declared are the tiers' components so far, in the order of the list of tiers.
	declared []tier.Component
}

// tierStep is one entry of the list of tiers: the name its errors carry, the plan of its objects
// from the settings alone, and the declaration of its component, kept in its Platform field
// where the tiers after it read it.
type tierStep struct {
	name string
	// nodeNamespace says the tier's pods run in the node agents' namespace, outside the
	// platform namespace's quota and NetworkPolicies.
	nodeNamespace bool
	plan          func() (tier.Plan, error)
	declare       func(*pulumi.Context, pulumi.ResourceOption) (tier.Component, error)
}

// step is the entry of a tier whose component C is made by newTier from the Args that args gives
// and kept in *keep; plan is its Plan (nil for a tier that runs no pods). Planning keeps a zero C,
// so that the Args of the tiers after it can be read before anything is declared: their slots
// (another tier's Secret, a Service's host) are then empty, which no plan reads.
func step[A any, T any, C interface {
	*T
	tier.Component
}](name, resource string, keep *C, args func() A, newTier func(*pulumi.Context, string, A, ...pulumi.ResourceOption) (C, error), plan func(A) (tier.Plan, error)) tierStep {
	return tierStep{
		name: name,
		plan: func() (tier.Plan, error) {
			var p tier.Plan
			var err error
			if plan != nil {
				p, err = plan(args())
			}
			*keep = C(new(T))
			return p, err
		},
		declare: func(ctx *pulumi.Context, opt pulumi.ResourceOption) (tier.Component, error) {
			c, err := newTier(ctx, resource, args(), opt)
			*keep = c
			return c, err
		},
	}
}

// tiers is the one list of the platform's tiers, in the order they are declared: each reads the
// ones before it. Every plan is computed first (Plan), so what is generated from the workloads (the
// quota check, the scrape jobs, the NetworkPolicies) sees all of them wherever it stands; what
// RegisterOutputs is given is what this list declared. A new tier is one entry here.
func (p *Platform) tiers() []tierStep {
	return []tierStep{
		// The foundation: the namespace (quota, limits, Pod Security), the Roles of people and CI,
		// storage, credentials and the internal CA.
		step("namespace tier", "namespace", &p.Namespace, p.namespaceArgs, foundation.NewNamespace, nil),
		step("access", "access", &p.Access, p.accessArgs, foundation.NewAccess, nil),
		step("admission policies", "admission", &p.Admission, p.admissionArgs, foundation.NewAdmission, nil),
		step("storage tier", "storage", &p.Storage, p.storageArgs, foundation.NewStorage, foundation.PlanStorage),
		step("secrets tier", "secrets", &p.Secrets, p.secretsArgs, credentials.New, nil),
		step("internal tls", "tls", &p.TLS, p.internalTLSArgs, foundation.NewInternalTLS, nil),
		// The data tier: each database is awaited until ready (StatefulSet readiness, then its
		// setup job); their Ready lists are what consumers depend on.
		step("postgres tier", "postgres", &p.Postgres, p.postgresArgs, postgres.New, postgres.Plan),
		step("redis tier", "redis", &p.Redis, p.redisArgs, redis.New, redis.Plan),
		step("influxdb tier", "influxdb", &p.InfluxDB, p.influxDBArgs, influxdb.New, influxdb.Plan),
		// The config and app tiers: the migration runs once the databases are ready, and has run
		// before the API and workers are created; the rotation ends after every client rolled.
		step("config tier", "config", &p.AppConfig, p.appConfigArgs, app.NewConfig, nil),
		step("migration", "migration", &p.Migration, p.migrationArgs, app.NewMigration, app.PlanMigration),
		step("api tier", "api", &p.API, p.apiArgs, app.NewAPI, app.PlanAPI),
		step("worker tier", "worker", &p.Worker, p.workerArgs, app.NewWorker, app.PlanWorker),
		step("models backup", "models-backup", &p.Models, p.modelsBackupArgs, app.NewModelsBackup, app.PlanModelsBackup),
		step("rotation", "rotation", &p.Rotation, p.rotationArgs, rotation.New, rotation.Plan),
		step("edge tier", "edge", &p.Edge, p.edgeArgs, edge.New, edge.Plan),
		// Centralized logs: the bundled store, then the node agents (the log collector and
		// node-exporter) in their own namespace, which ship to it and are scraped.
		step("log store", "log-store", &p.LogStore, p.logStoreArgs, logging.NewStore, logging.PlanStore),
		inNodeNamespace(step("node agents", "node-agents", &p.NodeAgents, p.nodeAgentsArgs, nodeagents.New, nodeagents.Plan)),
		// Generated from every tier's plan: the scrape jobs and the NetworkPolicies.
		step("monitoring tier", "monitoring", &p.Monitoring, p.monitoringArgs, monitoring.New, monitoring.Plan),
		step("security tier", "security", &p.Security, p.securityArgs, netpol.New, nil),
		inNodeNamespace(step("node security tier", "node-security", &p.NodeSecurity, p.nodeSecurityArgs, netpol.New, nil)),
	}
}

// inNodeNamespace marks a tier whose pods run in the node agents' namespace.
func inNodeNamespace(t tierStep) tierStep {
	t.nodeNamespace = true
	return t
}

// Scripts are every shell script the tiers run, as their pods run them, each template filled in
// for each variant the program deploys, with sample values where settings fill it in: what
// scripts/lint.sh gives shellcheck (cmd/lintscripts writes them out). A tier that runs scripts
// adds its own here, beside its entry in the list.
func Scripts() []tier.Script {
	return slices.Concat(app.Scripts(), influxdb.Scripts(), postgres.Scripts(), rotation.Scripts(),
		redis.Scripts(), foundation.Scripts(), tier.Scripts())
}

func (p *Platform) namespaceArgs() *foundation.NamespaceArgs {
	s := p.settings
	return &foundation.NamespaceArgs{
		Name: s.Namespace, Security: s.Security, Quota: s.Quota, LimitRange: s.LimitRange, Protect: s.ProtectState(),
		PriorityClasses: priorityClasses(s),
	}
}

// webIdentityRole is the IAM role of IRSA, where the stack names one on aws.
func webIdentityRole(s *config.Settings) string {
	if s.Kubernetes.Cloud == config.CloudAWS {
		return s.Identity.ObjectStorage
	}
	return ""
}

// priorityClasses are the classes the stack creates (priorityClasses.create): databases above the
// application, the application above batch jobs.
func priorityClasses(s *config.Settings) []foundation.PriorityClass {
	if !s.PriorityClasses.Create {
		return nil
	}
	what := map[string]string{
		config.PriorityData:  "the StatefulSets (the databases, Redis, Prometheus, Alertmanager, the log store) and the node agents",
		config.PriorityApp:   "the API, workers, edge, pooler and monitoring (Deployments)",
		config.PriorityBatch: "setup, migration, backup and rotation jobs",
	}
	var out []foundation.PriorityClass
	for _, t := range []string{config.PriorityData, config.PriorityApp, config.PriorityBatch} {
		out = append(out, foundation.PriorityClass{Name: s.PriorityClassName(t), Value: config.PriorityValues[t], Preempts: t != config.PriorityBatch,
			Description: "Pynomaly in namespace " + s.Namespace + ": " + what[t]})
	}
	return out
}

func (p *Platform) accessArgs() *foundation.AccessArgs {
	s := p.settings
	return &foundation.AccessArgs{
		Context: p.shared(), Settings: s.Access, PreflightReads: preflightReads(s), ImagePolicy: foundation.ImageSourcesPolicy(s.Namespace),
	}
}

// admissionArgs: the images come from every tier's plan, so a tier's new image is allowed in the
// same update that declares it.
func (p *Platform) admissionArgs() *foundation.AdmissionArgs {
	images := p.plannedExcept("").Images()
	labels, annotations := postgres.PatroniPodKeys()
	return &foundation.AdmissionArgs{
		Namespace: p.settings.Namespace, Images: images,
		Database: foundation.DatabasePods{Component: postgres.Component, ServiceAccount: postgres.Name, Labels: labels, Annotations: annotations},
	}
}

func (p *Platform) storageArgs() *foundation.StorageArgs {
	s := p.settings
	return &foundation.StorageArgs{
		Context: p.shared(), Storage: s.Storage,
		Rendered:     s.Kubernetes.RenderYamlToDirectory != "",
		KubectlImage: s.Images.Kubectl,
	}
}

func (p *Platform) secretsArgs() *credentials.Args {
	s := p.settings
	return &credentials.Args{
		Context: p.shared(), Generations: generations(s), Credentials: s.Credentials, Sources: s.Secrets,
	}
}

func (p *Platform) internalTLSArgs() *foundation.InternalTLSArgs {
	s := p.settings
	return &foundation.InternalTLSArgs{
		Context: p.shared(), Settings: s.TLS, Servers: tlsServers(s),
	}
}

// tlsServers are every server of a stack with settings s.
func tlsServers(s *config.Settings) []tier.TLSServer {
	servers := []tier.TLSServer{
		postgres.ServerTLS(s.Postgres.Replicas), postgres.PoolerTLS(),
		redis.ServerTLS(redis.Queue, s.RedisQueue.Replicas), redis.ServerTLS(redis.Cache, s.RedisCache.Replicas),
		influxdb.ServerTLS(s.InfluxDB.Replicas),
	}
	if s.MetricsAdapter() {
		servers = append(servers, monitoring.MetricsAdapterTLS())
	}
	return servers
}

func (p *Platform) postgresArgs() *postgres.Args {
	s := p.settings
	return &postgres.Args{
		Context: p.shared(), Settings: s.Postgres, Pooler: s.Pooler, Images: s.Images,
		Volumes: p.Storage.Volumes, BackupClaim: p.Storage.BackupClaim, Secret: p.Secrets.Postgres,
		Generation: s.PostgresAppGeneration(), WebIdentityRole: webIdentityRole(s),
		ExternalApp: s.Secrets.IsExternal("postgresAppPassword"), ExternalMonitor: s.Secrets.IsExternal("postgresMonitorPassword"),
	}
}

func (p *Platform) redisArgs() *redis.Args {
	s := p.settings
	return &redis.Args{
		Context: p.shared(), Queue: s.RedisQueue, Cache: s.RedisCache, Image: s.Images.Redis, Exporter: s.Images.RedisExporter,
		Volumes: p.Storage.Volumes, Secret: p.Secrets.Redis, Generation: s.RedisGeneration(),
	}
}

func (p *Platform) influxDBArgs() *influxdb.Args {
	s := p.settings
	return &influxdb.Args{
		Context: p.shared(), Settings: s.InfluxDB, Image: s.Images.InfluxDB,
		Volumes: p.Storage.Volumes, Secret: p.Secrets.InfluxDB,
		BackupClaim: p.Storage.BackupClaim,
	}
}

func (p *Platform) appConfigArgs() *app.ConfigArgs {
	s := p.settings
	return &app.ConfigArgs{
		Context: p.shared(), Environment: string(s.Environment), LogLevel: s.LogLevel,
		DatabaseHost: p.Postgres.Host, Queue: p.Redis.Queue, Cache: p.Redis.Cache, InfluxDBURL: p.InfluxDB.URL,
	}
}

// shared is what every tier is given (tier.Context), from the settings and the Namespace.
func (p *Platform) shared() tier.Context {
	s := p.settings
	return tier.Context{Namespace: p.Namespace.Name, TLS: s.TLS.Internal, Spread: spread(s.Placement), Protect: s.ProtectState(),
		Store: tier.ObjectStore{WALArchive: s.Postgres.WALArchive, Image: s.Images.Postgres}}
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
		InfluxDBTokenSecret: p.InfluxDB.AppTokenSecret, Generations: generations(s), PostgresClientImage: s.Images.PostgresClient, RedisImage: s.Images.Redis,
		ModelClaim: p.Storage.ModelClaim, ModelsShared: s.Storage.ModelAccessMode == "ReadWriteMany",
	}
}

// migrationArgs: the migration runs once the databases are ready.
func (p *Platform) migrationArgs() *app.MigrationArgs {
	return &app.MigrationArgs{
		Context: p.shared(), Image: p.settings.Images.API, Env: p.appEnv(), PrimaryHost: p.Postgres.PrimaryHost,
		After: p.databases(), Standby: p.settings.Postgres.Standby.On(),
	}
}

// apiArgs: the API starts after the databases and the migration.
func (p *Platform) apiArgs() *app.APIArgs {
	s := p.settings
	return &app.APIArgs{
		Context: p.shared(), Settings: s.API, Image: s.Images.API, Env: p.appEnv(), APISecret: p.Secrets.API,
		After: append(p.databases(), p.Migration.Done()...), Stopped: s.Postgres.Standby.On(),
	}
}

// workerArgs: the workers start after the databases and the migration.
func (p *Platform) workerArgs() *app.WorkerArgs {
	s := p.settings
	return &app.WorkerArgs{
		Context: p.shared(), Settings: s.Worker, Image: s.Images.Worker, Env: p.appEnv(),
		After: append(p.databases(), p.Migration.Done()...), Stopped: s.Postgres.Standby.On(),
	}
}

// modelsBackupArgs: the model claim is copied off the cluster on the claims' snapshot schedule,
// and kept as long as the snapshots.
func (p *Platform) modelsBackupArgs() *app.ModelsBackupArgs {
	return &app.ModelsBackupArgs{Context: p.shared(), Env: p.appEnv(), Snapshots: p.settings.Storage.Snapshots}
}

// rotationArgs: the rotation ends a credential rotation after every client of the credentials rolled: the pooler,
// the migration, the API and the workers (the Redis pods and the exporters in them roll with
// their StatefulSets, before the clients).
func (p *Platform) rotationArgs() *rotation.Args {
	s := p.settings
	after := append(append(append([]pulumi.Resource{}, p.Postgres.Ready...), p.Redis.Ready...), p.Migration.Done()...)
	after = append(append(after, p.API.Ready...), p.Worker.Ready...)
	return &rotation.Args{
		Context: p.shared(), Generations: generations(s),
		PostgresSecret: p.Secrets.Postgres, RedisSecret: p.Secrets.Redis, PrimaryHost: p.Postgres.PrimaryHost,
		Redis: p.Redis.Pods, Images: s.Images, After: after,
		DrainSeconds:    app.ClientsGracePeriod(s.Worker) + rotationKillMargin,
		PostgresStandby: s.Postgres.Standby.On(),
	}
}

// rotationKillMargin is the time past a grace period for the kubelet to kill a pod and the API
// server to forget it.
const rotationKillMargin = 30

// generations are the rotating credentials' current generations.
func generations(s *config.Settings) credentials.Generations {
	return credentials.Generations{PostgresApp: s.PostgresAppGeneration(), Redis: s.RedisGeneration()}
}

// edgeArgs: Nginx in front of the API and the entry point from outside. Its configuration names
// the API Service, so the engine creates that Service first (nginx resolves it at start).
func (p *Platform) edgeArgs() *edge.Args {
	s := p.settings
	return &edge.Args{
		Context: p.shared(), Settings: s.Edge, Image: s.Images.Nginx, Exporter: s.Images.NginxExporter,
		// A standby's writers are stopped: its hosts are published once it is promoted, which
		// makes the promotion the DNS switch too (docs/disaster-recovery.md).
		Unpublished: s.Postgres.Standby.On(),
		APIService:  p.API.ServiceName, APIPort: app.APIPort,
		// grafana.host: Nginx serves it from the monitoring tier's Service.
		Grafana: edge.Grafana{Host: s.Grafana.Host, Service: monitoring.GrafanaName, Port: monitoring.GrafanaPort},
	}
}

// monitoringArgs: Prometheus, Grafana and, from the full level on, Alertmanager and
// kube-state-metrics. Its scrape jobs are generated from every other tier's planned workloads.
func (p *Platform) monitoringArgs() *monitoring.Args {
	s := p.settings
	a := &monitoring.Args{
		Context: p.shared(), Environment: string(s.Environment), Level: s.Monitoring,
		Prometheus: s.Prometheus, Alertmanager: s.Alertmanager, Grafana: s.Grafana, Images: s.Images,
		Volumes: p.Storage.Volumes, GrafanaSecret: p.Secrets.Grafana, Workloads: p.plannedWorkloads("monitoring tier"),
		InfluxDBURL: p.InfluxDB.URL, InfluxDBSecret: p.InfluxDB.SecretName,
		AlertWebhookURL:    string(s.Credentials.AlertmanagerWebhookURL),
		CertManagerMetrics: certManagerMetrics(s.Edge),
		QueueScaling:       s.Worker.QueueScaling, MetricsAdapterReplicas: s.MetricsAdapterReplicas(),
		Database: monitoring.Database{WALArchiving: s.Postgres.WALArchive.On(), Standby: s.Postgres.Standby.On()}, Operator: !s.Bundled(), SLO: s.SLO,
		NodeWorkloads: p.nodeWorkloads(), NodeNamespaceReady: p.NodeAgents.Ready,
		NodeExporter: s.NodeExporter(), LogAlerts: s.Logging.On(), GrafanaRootURL: s.GrafanaURL(),
	}
	if s.NodeAgents() {
		a.NodeNamespace = s.NodeNamespace()
	}
	if s.Logging.Mode == config.LoggingBundled {
		a.LogStoreURL = fmt.Sprintf("http://%s.%s.svc:%d", logging.StoreName, s.Namespace, logging.StorePort)
	}
	return a
}

// securityArgs: the namespace's NetworkPolicies, generated from every planned workload; the
// node agents' are the neighbours it exchanges logs and metrics with.
func (p *Platform) securityArgs() *netpol.Args {
	a := p.policyArgs()
	a.Workloads, a.Neighbours, a.NeighbourNamespace = p.plannedWorkloads(""), p.nodePolicyWorkloads(), p.settings.NodeNamespace()
	return a
}

// nodeSecurityArgs: the node agents' namespace's NetworkPolicies, from the same flow table, with
// the platform's workloads as the neighbours. None where no agent is subject to one.
func (p *Platform) nodeSecurityArgs() *netpol.Args {
	a := p.policyArgs()
	a.Context.Namespace = p.NodeAgents.Namespace
	a.Workloads, a.Neighbours, a.NeighbourNamespace = p.nodePolicyWorkloads(), p.plannedWorkloads(""), p.settings.Namespace
	a.NamePrefix = "node-"
	return a
}

// nodePolicyWorkloads are the node agents a NetworkPolicy applies to: not node-exporter, which
// shares the node's network (netpol.PeerNodeExporter).
func (p *Platform) nodePolicyWorkloads() []kube.Workload {
	return slices.DeleteFunc(p.nodeWorkloads(), func(w kube.Workload) bool { return w.Component == nodeagents.NodeExporterComponent })
}

// nodeWorkloads are every node agent, as planned.
func (p *Platform) nodeWorkloads() []kube.Workload { return p.nodePlanned().Workloads() }

// policyArgs are what both namespaces' NetworkPolicies take from the settings.
func (p *Platform) policyArgs() *netpol.Args {
	s := p.settings
	e := s.Edge
	a := &netpol.Args{
		Context: p.shared(), Network: s.Network,
		Exposed: e.Exposed(), ACMESolver: e.TLSOn() && e.TLS.Issuer.Create == config.CreateACME,
		OperatorPrometheus: !s.Bundled(), ObjectStoragePort: s.Postgres.WALArchive.StorePort(),
		MetadataServer: s.Kubernetes.Cloud == config.CloudGCP && s.Identity.ObjectStorage != "" && s.Postgres.WALArchive.On(),
		ReceiverPorts:  s.Alertmanager.Receivers.Ports(), CertManagerScraped: s.Bundled() && certManagerMetrics(e) != "",
	}
	if s.NodeExporter() {
		a.NodeExporterPort = nodeagents.NodeExporterPort
	}
	if s.Logging.Mode == config.LoggingExternal {
		a.ExternalLogsPort = nodeagents.ExternalLogsPort(s.Logging.External)
	}
	if s.Bundled() && s.Logging.Mode == config.LoggingBundled {
		a.GrafanaPluginCIDRs = s.Network.GrafanaPluginCIDRs
	}
	return a
}

// logStoreArgs: the bundled log store, in the platform's namespace.
func (p *Platform) logStoreArgs() *logging.StoreArgs {
	s := p.settings
	return &logging.StoreArgs{Context: p.shared(), Settings: s.Logging, Image: s.Images.LogStore, Volumes: p.Storage.Volumes}
}

// nodeAgentsArgs: the log collector ships to the bundled store (or the external one), and reads
// failed logins off the edge's access log.
func (p *Platform) nodeAgentsArgs() *nodeagents.Args {
	s := p.settings
	a := &nodeagents.Args{
		Namespace: p.Namespace.Name, NodeNamespace: s.NodeNamespace(), Logging: s.Logging, Images: s.Images,
		StoreURL: p.LogStore.URL, EdgeComponent: edge.Component, Access: s.Access,
	}
	if s.NodeExporter() {
		a.NodeExporter = &s.Prometheus.NodeExporter
	}
	return a
}

// certManagerMetrics is where Prometheus reads the certificate's expiry: cert-manager's standard
// address when the entry point has a certificate, nothing otherwise.
func certManagerMetrics(e config.Edge) string {
	if !e.TLSOn() {
		return ""
	}
	return monitoring.CertManagerMetrics
}
