package config

import "slices"

// The three profiles carry the seed's environment table as defaults:
//
//	dev      replicas 1-2,   minimal resources,   basic monitoring,         relaxed security
//	staging  replicas 2-5,   moderate resources,  full monitoring,          enforced security
//	prod     API 5-100, workers 3-50, optimized,  comprehensive monitoring, strict security
//
// The seed's "strict" is Pod Security "restricted" enforced, the strictest level Kubernetes
// has: the level enforced, which staging and prod share and may not lower.
//
// Database and pooler replicas are kept apart as a preference in dev and staging, so small
// clusters schedule everything, and as a requirement in prod (placement).
//
// prod's quota is the seed's minimum cluster (32 cores, 128 GB, 2 TB): requests must fit in
// it with every Deployment at its maximum replicas; limits may overcommit.

// DefaultNamespace is the seed's namespace.
const DefaultNamespace = "pynomaly-data-science"

// profile returns the defaults of env, or false when env is not a known environment.
func profile(env Environment) (Settings, bool) {
	build, ok := map[Environment]func(Settings) Settings{Dev: dev, Staging: staging, Prod: prod}[env]
	if !ok {
		return Settings{}, false
	}
	return build(common(env)), true
}

// common are the defaults every environment shares.
func common(env Environment) Settings {
	return Settings{
		Environment: env,
		Namespace:   DefaultNamespace,
		LogLevel:    "info",
		Storage: Storage{
			ClassName:       "pynomaly-ssd",
			Provisioner:     "ebs.csi.aws.com",
			Parameters:      map[string]string{"type": "gp3", "encrypted": "true"},
			ReclaimPolicy:   "Delete",
			ModelAccessMode: "ReadWriteOnce",
		},
		Secrets: Secrets{},
		// Verified TLS between the services from staging on; dev runs without cert-manager
		// unless a stack turns it on.
		TLS: InternalTLS{Internal: env != Dev, Issuer: IssuerRef{Kind: "Issuer"}},
		// The program runs its own monitoring unless a stack says the cluster has an operator.
		MonitoringMode: MonitoringBundled,
		Network:        network(),
		Images: Images{
			Postgres:          "ghcr.io/zalando/spilo-17:4.0-p3",
			PostgresClient:    "postgres:17.5-alpine",
			PostgresExporter:  "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
			PgBouncer:         "ghcr.io/cloudnative-pg/pgbouncer:1.24.1",
			Redis:             "redis:7.4.2-alpine",
			RedisExporter:     "oliver006/redis_exporter:v1.67.0",
			InfluxDB:          "influxdb:2.7.11-alpine",
			API:               "ghcr.io/pynomaly/pynomaly-api:1.0.0",
			Worker:            "ghcr.io/pynomaly/pynomaly-worker:1.0.0",
			Nginx:             "nginxinc/nginx-unprivileged:1.27.5-alpine",
			NginxExporter:     "nginx/nginx-prometheus-exporter:1.4.2",
			Prometheus:        "quay.io/prometheus/prometheus:v3.2.1",
			Alertmanager:      "quay.io/prometheus/alertmanager:v0.28.1",
			Grafana:           "grafana/grafana:11.5.2",
			KubeStateMetrics:  "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0",
			PrometheusAdapter: "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",
			Kubectl:           "alpine/k8s:1.33.4",
			PullPolicy:        "Always",
		},
	}
}

// edge is the seed's Nginx: 100 requests a minute per client address with a burst of 20, and
// no entry point until a stack names its hosts (entry none: the ClusterIP Service the seed
// port-forwards to). Trusted proxies are the private ranges pod networks come from; narrow them
// to the cluster's pod CIDR where it is known.
func edge(replicas int, r Resources, concurrent, workers, connections int, issuer TLSIssuer) Edge {
	return Edge{
		Replicas: replicas, Resources: r, Entry: EntryNone,
		RateLimit:          RateLimit{RequestsPerMinute: 100, Burst: 20},
		TrustedProxies:     slices.Clone(privateRanges),
		ClientMaxBodySize:  "100m",
		Timeouts:           ProxyTimeouts{ConnectSeconds: 5, ReadSeconds: 60, SendSeconds: 60},
		ConcurrentRequests: concurrent, WorkerProcesses: workers, WorkerConnections: connections,
		Ingress: EdgeIngress{ClassName: "nginx"},
		Gateway: EdgeGateway{ClassName: "eg", Implementation: EnvoyGateway},
		TLS:     EdgeTLS{Enabled: true, SecretName: "pynomaly-tls", Issuer: issuer},
	}
}

// privateRanges are the addresses a cluster's pods, nodes and API server usually have.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}

// network is where the cluster's API server and nodes usually are: the private ranges, and the
// API server's ports of managed clusters (443) and of kubeadm, kind and k3s (6443). Narrow them
// to the cluster's own addresses where they are known.
func network() Network {
	return Network{
		KubernetesAPI:       APIServer{CIDRs: slices.Clone(privateRanges), Ports: []int{443, 6443}},
		NodeCIDRs:           slices.Clone(privateRanges),
		PrometheusNamespace: "monitoring",
	}
}

// The issuers the profiles create: a self-signed one in dev, Let's Encrypt's staging directory
// in staging (untrusted certificates, generous limits), its production directory in prod.
var selfSignedIssuer = TLSIssuer{Kind: "Issuer", Name: "pynomaly-selfsigned", Create: CreateSelfSigned}

func acmeIssuer(name, server string) TLSIssuer {
	return TLSIssuer{Kind: "Issuer", Name: name, Create: CreateACME, ACMEServer: server}
}

// Volume snapshots, once a class is named: daily at 03:00 UTC (after the base backup and the
// dump), kept as long as the dumps.
func snapshots(retentionDays int) Snapshots {
	return Snapshots{Schedule: "0 3 * * *", RetentionDays: retentionDays}
}

// The seed's backup (daily at 02:00 UTC) and WAL archiving defaults; retention is per profile.
func backup(retentionDays int) PostgresBackup {
	return PostgresBackup{Schedule: "0 2 * * *", TimeZone: "Etc/UTC", RetentionDays: retentionDays, DeadlineSeconds: 3 * 3600}
}

// WAL archiving, where a stack names a bucket: a segment shipped at least every five minutes;
// base backups daily at 01:00 UTC (before the dump) and kept as long as the dumps, except in
// prod, where one every twelve hours halves the WAL a point-in-time restore replays (the seed's
// RTO is one hour) and two weeks of them make the window the dumps have.
func walArchive(schedule string, retentionDays int) WALArchive {
	return WALArchive{TimeoutSeconds: MaxArchiveTimeoutSeconds, BaseBackupSchedule: schedule, RetentionDays: retentionDays}
}

// The seed's HPA targets: API CPU 70% / memory 80%, workers CPU 75% / memory 85%.
func api(minR, maxR int, r Resources, pool int) Autoscaled {
	return Autoscaled{MinReplicas: minR, MaxReplicas: maxR, Resources: r, DBPoolSize: pool,
		TargetCPUUtilization: 70, TargetMemoryUtilization: 80}
}

func worker(minR, maxR int, r Resources, pool, timeout int) Worker {
	return Worker{
		Autoscaled: Autoscaled{MinReplicas: minR, MaxReplicas: maxR, Resources: r, DBPoolSize: pool,
			TargetCPUUtilization: 75, TargetMemoryUtilization: 85},
		TaskTimeoutSeconds: timeout, Concurrency: 4,
		QueueScaling: QueueScaling{MetricName: "pynomaly_task_queue_depth", TargetPerPod: 20},
	}
}

// InfluxDB's backup runs at 04:30 UTC, after the database's dump (02:00) has most likely released
// the backup claim, and is kept as long as the dumps.
func influx(t StatefulTier, backupRetentionDays int) InfluxDB {
	return InfluxDB{StatefulTier: t, Retention: "30d", LongTermRetention: "365d", DownsampleEvery: "1h",
		Backup: InfluxDBBackup{Schedule: "30 4 * * *", RetentionDays: backupRetentionDays}}
}

func dev(base Settings) Settings {
	base.Security, base.Placement, base.Monitoring, base.LogLevel = Relaxed, PlacementPreferred, Basic, "debug"
	base.Quota = Quota{
		RequestsCPU: "4", RequestsMemory: "8Gi", LimitsCPU: "10", LimitsMemory: "16Gi",
		RequestsStorage: "100Gi", RequestsEphemeralStorage: "4Gi", LimitsEphemeralStorage: "32Gi",
		Pods: 30, PersistentVolumeClaims: 10,
	}
	base.LimitRange = LimitRange{
		DefaultRequestCPU: "50m", DefaultRequestMemory: "64Mi",
		DefaultCPU: "250m", DefaultMemory: "256Mi",
		MaxCPU: "2", MaxMemory: "4Gi",
		DefaultRequestEphemeralStorage: "64Mi", DefaultEphemeralStorage: "512Mi", MaxEphemeralStorage: "4Gi",
	}
	base.Storage.BackupSize, base.Storage.ModelSize = "10Gi", "5Gi"
	base.Storage.Snapshots = snapshots(3)
	base.API = api(1, 2, res("50m", "128Mi", "250m", "256Mi").disk(apiDisk), 5)
	base.Worker = worker(1, 2, res("50m", "128Mi", "500m", "512Mi").disk(workerDisk), 5, 300)
	base.Postgres = Postgres{StatefulTier: StatefulTier{Replicas: 1, Resources: res("100m", "256Mi", "500m", "1Gi").disk(postgresDisk), StorageSize: "10Gi"},
		MaxConnections: 100, Backup: backup(3), WALArchive: walArchive("0 1 * * *", 3)}
	base.Pooler = Pooler{Replicas: 1, PoolSize: 50, MaxClientConnections: 200, Resources: res("25m", "32Mi", "100m", "64Mi")}
	base.RedisQueue = StatefulTier{Replicas: 1, Resources: res("50m", "64Mi", "250m", "256Mi"), StorageSize: "1Gi"}
	base.RedisCache = StatefulTier{Replicas: 1, Resources: res("50m", "64Mi", "250m", "320Mi")}
	base.InfluxDB = influx(StatefulTier{Replicas: 1, Resources: res("100m", "256Mi", "500m", "512Mi"), StorageSize: "5Gi"}, 3)
	base.Edge = edge(1, res("50m", "64Mi", "250m", "128Mi").disk(disk{"128Mi", "1Gi"}), 200, 1, 1024, selfSignedIssuer)
	base.Prometheus = Prometheus{StatefulTier: StatefulTier{Replicas: 1, Resources: res("100m", "256Mi", "500m", "1Gi"), StorageSize: "5Gi"}, Retention: "3d"}
	base.Alertmanager = Alertmanager{StatefulTier: StatefulTier{Replicas: 1, Resources: res("25m", "32Mi", "100m", "64Mi"), StorageSize: "1Gi"}}
	base.Grafana = Grafana{Resources: res("50m", "128Mi", "250m", "256Mi")}
	return base
}

func staging(base Settings) Settings {
	base.Security, base.Placement, base.Monitoring = Enforced, PlacementPreferred, Full
	base.Quota = Quota{
		RequestsCPU: "8", RequestsMemory: "24Gi", LimitsCPU: "24", LimitsMemory: "48Gi",
		RequestsStorage: "500Gi", RequestsEphemeralStorage: "10Gi", LimitsEphemeralStorage: "64Gi",
		Pods: 60, PersistentVolumeClaims: 20,
	}
	base.LimitRange = LimitRange{
		DefaultRequestCPU: "100m", DefaultRequestMemory: "128Mi",
		DefaultCPU: "500m", DefaultMemory: "512Mi",
		MaxCPU: "4", MaxMemory: "8Gi",
		DefaultRequestEphemeralStorage: "64Mi", DefaultEphemeralStorage: "512Mi", MaxEphemeralStorage: "8Gi",
	}
	base.Storage.BackupSize, base.Storage.ModelSize = "50Gi", "20Gi"
	base.Storage.Snapshots = snapshots(7)
	base.API = api(2, 5, res("100m", "256Mi", "500m", "512Mi").disk(apiDisk), 10)
	base.Worker = worker(2, 5, res("200m", "512Mi", "1", "1Gi").disk(workerDisk), 5, 900)
	base.Postgres = Postgres{StatefulTier: StatefulTier{Replicas: 2, Resources: res("250m", "1Gi", "1", "2Gi").disk(postgresDisk), StorageSize: "50Gi"},
		MaxConnections: 200, SynchronousMode: true, Backup: backup(7), WALArchive: walArchive("0 1 * * *", 7)}
	base.Pooler = Pooler{Replicas: 2, PoolSize: 80, MaxClientConnections: 500, Resources: res("50m", "32Mi", "250m", "128Mi")}
	// Three, not two: a lost pod takes its Sentinel along, and two Sentinels need both to agree.
	base.RedisQueue = StatefulTier{Replicas: 3, Resources: res("100m", "256Mi", "500m", "512Mi"), StorageSize: "5Gi"}
	base.RedisCache = StatefulTier{Replicas: 3, Resources: res("100m", "1Gi", "500m", "1280Mi").disk(disk{"1Gi", "2Gi"})}
	base.InfluxDB = influx(StatefulTier{Replicas: 1, Resources: res("250m", "512Mi", "1", "1Gi"), StorageSize: "50Gi"}, 7)
	base.Edge = edge(2, res("100m", "128Mi", "500m", "256Mi").disk(disk{"256Mi", "2Gi"}), 1000, 1, 2048,
		acmeIssuer("pynomaly-letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"))
	base.Prometheus = Prometheus{StatefulTier: StatefulTier{Replicas: 1, Resources: res("250m", "1Gi", "1", "2Gi"), StorageSize: "50Gi"}, Retention: "15d"}
	base.Alertmanager = Alertmanager{StatefulTier: StatefulTier{Replicas: 1, Resources: res("25m", "64Mi", "100m", "128Mi"), StorageSize: "1Gi"}}
	base.Grafana = Grafana{Resources: res("100m", "128Mi", "500m", "512Mi")}
	return base
}

func prod(base Settings) Settings {
	base.Security, base.Placement, base.Monitoring = Enforced, PlacementRequired, Comprehensive
	base.Quota = Quota{
		RequestsCPU: "32", RequestsMemory: "128Gi", LimitsCPU: "192", LimitsMemory: "320Gi",
		RequestsStorage: "2Ti", RequestsEphemeralStorage: "64Gi", LimitsEphemeralStorage: "512Gi",
		Pods: 250, PersistentVolumeClaims: 30,
	}
	base.LimitRange = LimitRange{
		DefaultRequestCPU: "100m", DefaultRequestMemory: "128Mi",
		DefaultCPU: "500m", DefaultMemory: "512Mi",
		MaxCPU: "4", MaxMemory: "16Gi",
		DefaultRequestEphemeralStorage: "64Mi", DefaultEphemeralStorage: "512Mi", MaxEphemeralStorage: "16Gi",
	}
	base.Storage.ReclaimPolicy = "Retain"
	base.Storage.BackupSize, base.Storage.ModelSize = "300Gi", "200Gi"
	base.Storage.Snapshots = snapshots(14)
	base.API = api(5, 100, res("100m", "256Mi", "1", "1Gi").disk(apiDisk), 10)
	base.Worker = worker(3, 50, res("200m", "768Mi", "1", "2Gi").disk(workerDisk), 5, 3600)
	// The seed's tuning: max_connections 500, shared_buffers 2GB = 25% of an 8Gi limit.
	// Synchronous replication: the failover drill measured its cost on a commit (README,
	// Availability) and a failover then loses no committed transaction.
	base.Postgres = Postgres{StatefulTier: StatefulTier{Replicas: 3, Resources: res("1", "4Gi", "2", "8Gi").disk(postgresDisk), StorageSize: "200Gi"},
		MaxConnections: 500, SynchronousMode: true, Backup: backup(14), WALArchive: walArchive("0 1,13 * * *", 14)}
	// 3 x 150 server connections + 20 reserved = 470 of 500; 3 x 1000 clients hold
	// 100 API pods x 10 + 50 workers x 5 = 1250 even with a pooler pod down.
	base.Pooler = Pooler{Replicas: 3, PoolSize: 150, MaxClientConnections: 1000, Resources: res("100m", "64Mi", "500m", "256Mi")}
	base.RedisQueue = StatefulTier{Replicas: 3, Resources: res("250m", "1Gi", "1", "2Gi"), StorageSize: "20Gi"}
	// maxmemory 8GB (the seed's) leaves headroom for replication buffers under a 10Gi limit.
	base.RedisCache = StatefulTier{Replicas: 3, Resources: res("500m", "9Gi", "2", "10Gi").disk(disk{"2Gi", "10Gi"})}
	base.InfluxDB = influx(StatefulTier{Replicas: 1, Resources: res("500m", "2Gi", "2", "4Gi"), StorageSize: "500Gi"}, 14)
	// The seed's three Nginx pods and 10,000 concurrent requests: 3 x 2 workers x 8192 / 2 =
	// 24,576, and still 16,384 with a pod drained.
	base.Edge = edge(3, res("500m", "512Mi", "2", "1Gi").disk(disk{"1Gi", "4Gi"}), 10000, 2, 8192,
		acmeIssuer("pynomaly-letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"))
	// Two Prometheus replicas scraping everything and a three-member Alertmanager cluster: a
	// lost node loses neither alerting nor the last 30 days.
	base.Prometheus = Prometheus{StatefulTier: StatefulTier{Replicas: 2, Resources: res("1", "4Gi", "2", "8Gi"), StorageSize: "150Gi"}, Retention: "30d"}
	base.Alertmanager = Alertmanager{StatefulTier: StatefulTier{Replicas: 3, Resources: res("50m", "64Mi", "200m", "256Mi"), StorageSize: "1Gi"}}
	base.Grafana = Grafana{Resources: res("100m", "256Mi", "1", "1Gi")}
	return base
}

// res is a container's resources. Its ephemeral storage is what most containers need, their
// logs and a small /tmp (64Mi requested, 512Mi at most); disk gives more to the tiers that
// write more.
func res(cpuRequest, memoryRequest, cpuLimit, memoryLimit string) Resources {
	return Resources{CPURequest: cpuRequest, MemoryRequest: memoryRequest, CPULimit: cpuLimit, MemoryLimit: memoryLimit,
		EphemeralStorageRequest: "64Mi", EphemeralStorageLimit: "512Mi"}
}

// disk is a container's ephemeral storage: request and limit.
type disk struct{ request, limit string }

// The tiers whose containers write more than logs to the node's disk:
//   - the API keeps uploads and a worker its intermediate files in /tmp until they are done;
//   - Spilo's root is writable: its start-up writes Patroni's configuration, the archiving
//     environment and its own logs there;
//   - Nginx buffers request bodies up to clientMaxBodySize and slow responses in /tmp
//     (sized per profile, with its concurrency);
//   - a Redis cache replica writes the primary's snapshot to its emptyDir during a full
//     resynchronisation, up to the size of the data set (sized per profile, with maxmemory).
var (
	apiDisk      = disk{"256Mi", "2Gi"}
	workerDisk   = disk{"256Mi", "4Gi"}
	postgresDisk = disk{"256Mi", "2Gi"}
)

func (r Resources) disk(d disk) Resources {
	r.EphemeralStorageRequest, r.EphemeralStorageLimit = d.request, d.limit
	return r
}
