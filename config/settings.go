// Package config turns a stack's configuration into typed, validated Settings.
//
// Every stack names an environment (dev, staging or prod). The environment picks a profile
// (profiles.go) that carries the seed's numbers as defaults; the stack file then overrides only
// what it must. Validate runs before a single resource is declared, so a bad value stops
// `pulumi preview` with one message per bad key.
package config

// Environment is the deployment profile a stack runs with.
type Environment string

// The environments of the seed's "Environment-Specific Settings" table.
const (
	Dev     Environment = "dev"
	Staging Environment = "staging"
	Prod    Environment = "prod"
)

// Environments lists the known environments in promotion order.
var Environments = []Environment{Dev, Staging, Prod}

// SecurityLevel is how strictly pods are admitted: relaxed (dev), enforced (staging) or strict (prod).
type SecurityLevel string

// Security levels. Relaxed enforces Pod Security "baseline" and warns on "restricted";
// enforced and strict both enforce "restricted". The level decides neither where replicas run
// (Placement) nor whether stateful resources are protected (the environment: ProtectState).
const (
	Relaxed  SecurityLevel = "relaxed"
	Enforced SecurityLevel = "enforced"
	Strict   SecurityLevel = "strict"
)

// Placement is how firmly replicas of each database and of the pooler are kept apart.
type Placement string

// Placements. Required: replicas never share a node and never exceed a zone skew of 1
// (DoNotSchedule), so a lost node takes at most one of them; a pod that cannot be placed so
// stays pending. Preferred: both are preferences, so a small cluster schedules everything.
const (
	PlacementPreferred Placement = "preferred"
	PlacementRequired  Placement = "required"
)

// MonitoringLevel is how much the monitoring tier collects: basic, full or comprehensive.
type MonitoringLevel string

// Monitoring levels of the seed's environment table.
const (
	Basic         MonitoringLevel = "basic"
	Full          MonitoringLevel = "full"
	Comprehensive MonitoringLevel = "comprehensive"
)

// Monitoring modes.
const (
	MonitoringBundled  = "bundled"
	MonitoringOperator = "operator"
)

// Bundled says whether the program runs the monitoring stack itself.
func (s *Settings) Bundled() bool { return s.MonitoringMode == MonitoringBundled }

// Alerting says whether the level runs Alertmanager and kube-state-metrics (full and
// comprehensive); basic is Prometheus and Grafana alone.
func (l MonitoringLevel) Alerting() bool { return l == Full || l == Comprehensive }

// Settings is everything the program needs to know about one stack. Components receive parts
// of it as plain values; none of them reads stack configuration itself.
type Settings struct {
	// Project is the Pulumi project name, the namespace of every configuration key.
	Project     string          `json:"-"`
	Environment Environment     `json:"-"`
	Namespace   string          `json:"namespace"`
	Security    SecurityLevel   `json:"security"`
	Placement   Placement       `json:"placement"`
	Monitoring  MonitoringLevel `json:"monitoring"`
	// MonitoringMode is bundled (the program runs Prometheus, Alertmanager, Grafana) or
	// operator (the cluster's Prometheus Operator scrapes and alerts, from PodMonitors and a
	// PrometheusRule the program writes).
	MonitoringMode string `json:"monitoringMode"`
	LogLevel       string `json:"logLevel"`

	Kubernetes Kubernetes `json:"kubernetes"`
	Quota      Quota      `json:"quota"`
	LimitRange LimitRange `json:"limitRange"`
	Storage    Storage    `json:"storage"`
	Secrets    Secrets    `json:"secrets"`
	// Credentials are operator-supplied values (`pulumi config set --secret`) that replace
	// generated ones. They are never logged and only ever leave this package as secrets.
	Credentials Credentials `json:"credentials"`

	API    Autoscaled `json:"api"`
	Worker Worker     `json:"worker"`

	Postgres Postgres `json:"postgres"`
	Pooler   Pooler   `json:"pooler"`
	// RedisQueue holds the task queue (no eviction, AOF); RedisCache holds cache and sessions (LRU).
	RedisQueue StatefulTier `json:"redisQueue"`
	RedisCache StatefulTier `json:"redisCache"`
	InfluxDB   InfluxDB     `json:"influxdb"`
	Edge       Edge         `json:"edge"`

	// The monitoring tier; what of it runs follows Monitoring (see MonitoringLevel.Alerting).
	Prometheus   Prometheus   `json:"prometheus"`
	Alertmanager Alertmanager `json:"alertmanager"`
	Grafana      Grafana      `json:"grafana"`

	Images Images `json:"images"`
}

// Postgres is the PostgreSQL cluster: Patroni-managed instances, their tuning and backups.
type Postgres struct {
	StatefulTier
	// MaxConnections is max_connections; the pooler's server connections must fit in it.
	MaxConnections int `json:"maxConnections"`
	// SynchronousMode is Patroni's synchronous_mode: a commit returns only once a replica has
	// it, and only that replica may be promoted, so a failover loses no committed transaction.
	// A primary left without a healthy replica goes on alone (not strict), so a lost replica
	// never stops writes.
	SynchronousMode bool           `json:"synchronousMode"`
	Backup          PostgresBackup `json:"backup"`
	WALArchive      WALArchive     `json:"walArchive"`
}

// PostgresBackup is the daily logical backup to the backup claim.
type PostgresBackup struct {
	// Schedule is a cron expression (the seed: 02:00 daily), in TimeZone.
	Schedule      string `json:"schedule"`
	TimeZone      string `json:"timeZone"`
	RetentionDays int    `json:"retentionDays"`
	// DeadlineSeconds bounds one backup run; a stuck pg_dump is killed and reported.
	DeadlineSeconds int `json:"deadlineSeconds"`
}

// WALArchive is continuous WAL archiving to object storage (WAL-G), for a recovery point of
// minutes rather than a day. Off while S3Bucket is empty.
type WALArchive struct {
	S3Bucket string `json:"s3Bucket"`
	Region   string `json:"region"`
	// Endpoint is for S3-compatible stores (MinIO, Ceph); empty means AWS.
	Endpoint string `json:"endpoint"`
	// CredentialsSecret names an existing Secret with AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY; empty means workload identity (IRSA and the like).
	CredentialsSecret string `json:"credentialsSecret"`
	// TimeoutSeconds forces a WAL segment switch at least this often (archive_timeout), which
	// bounds the data a lost cluster can lose.
	TimeoutSeconds int `json:"timeoutSeconds"`
}

// Pooler is PgBouncer in front of PostgreSQL.
type Pooler struct {
	Replicas int `json:"replicas"`
	// PoolSize is the server connections each pooler pod opens to the primary.
	PoolSize int `json:"poolSize"`
	// MaxClientConnections is how many clients each pooler pod accepts.
	MaxClientConnections int       `json:"maxClientConnections"`
	Resources            Resources `json:"resources"`
}

// InfluxDB is the metrics store.
type InfluxDB struct {
	StatefulTier
	// Retention of the high-resolution bucket (the seed: 30 days).
	Retention string `json:"retention"`
	// LongTermRetention of the downsampled bucket.
	LongTermRetention string `json:"longTermRetention"`
	// DownsampleEvery is how often the downsampling task runs and the window it averages.
	DownsampleEvery string `json:"downsampleEvery"`
}

// Prometheus is the monitoring tier's Prometheus: replicas (each scrapes every target, so one
// survives the other), a claim each, and how long samples are kept.
type Prometheus struct {
	StatefulTier
	// Retention is --storage.tsdb.retention.time, a Prometheus duration such as 15d.
	Retention string `json:"retention"`
}

// Alertmanager is the members of one Alertmanager cluster and where it sends alerts.
type Alertmanager struct {
	StatefulTier
	Receivers AlertReceivers `json:"receivers"`
}

// AlertReceivers are where alerts go. Every alert goes to Slack and e-mail where configured;
// critical ones also page through PagerDuty. Their URLs, keys and password are read from the
// existing Secret SecretName in the namespace (keys slack-url, pagerduty-routing-key,
// smtp-password), never from stack configuration. None configured: alerts stay in Alertmanager.
type AlertReceivers struct {
	SecretName   string     `json:"secretName"`
	SlackChannel string     `json:"slackChannel"`
	PagerDuty    bool       `json:"pagerduty"`
	Email        AlertEmail `json:"email"`
}

// AlertEmail is the e-mail receiver: To is empty when there is none.
type AlertEmail struct {
	To        string `json:"to"`
	From      string `json:"from"`
	Smarthost string `json:"smarthost"`
	// Username logs in to the smarthost with the Secret's smtp-password; empty: no login.
	Username string `json:"username"`
}

// Any says whether a receiver is configured.
func (r AlertReceivers) Any() bool { return r.SlackChannel != "" || r.PagerDuty || r.Email.To != "" }

// Receiver secret keys.
const (
	SlackURLKey            = "slack-url"
	PagerDutyRoutingKeyKey = "pagerduty-routing-key"
	SMTPPasswordKey        = "smtp-password"
)

// Grafana is the dashboards' server.
type Grafana struct {
	Resources Resources `json:"resources"`
}

// Edge is the seed's data-science-nginx.yaml and its Ingress: Nginx in front of the API (per
// client rate limit, compression, security headers) and the way traffic reaches it.
type Edge struct {
	Replicas  int       `json:"replicas"`
	Resources Resources `json:"resources"`
	// Entry is how traffic reaches Nginx: an Ingress, a Gateway API Gateway, or nothing beyond
	// the ClusterIP Service.
	Entry EntryMode `json:"entry"`
	// Hosts are the public host names: the Ingress rules or HTTPRoute hostnames, and the
	// certificate's names.
	Hosts     []string  `json:"hosts"`
	RateLimit RateLimit `json:"rateLimit"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For Nginx believes: the entry point's pods.
	// A request from any other peer is counted against the peer's own address, whatever it sends.
	TrustedProxies []string `json:"trustedProxies"`
	// ClientMaxBodySize is the largest request body Nginx accepts, an nginx size such as 100m.
	ClientMaxBodySize string        `json:"clientMaxBodySize"`
	Timeouts          ProxyTimeouts `json:"timeouts"`
	// ConcurrentRequests is how many requests the tier holds at once (the seed: 10,000 in prod);
	// Replicas x WorkerProcesses x WorkerConnections must hold it (see Capacity).
	ConcurrentRequests int `json:"concurrentRequests"`
	// WorkerProcesses is per pod; it should not exceed the CPU limit's cores.
	WorkerProcesses   int         `json:"workerProcesses"`
	WorkerConnections int         `json:"workerConnections"`
	Ingress           EdgeIngress `json:"ingress"`
	Gateway           EdgeGateway `json:"gateway"`
	TLS               EdgeTLS     `json:"tls"`
}

// EntryMode is how traffic from outside the cluster reaches the edge.
type EntryMode string

// Entry modes. The community ingress-nginx controller was retired in March 2026; Gateway is what
// a new cluster should use.
const (
	EntryIngress EntryMode = "ingress"
	EntryGateway EntryMode = "gateway"
	EntryNone    EntryMode = "none"
)

// The Gateway API implementations whose per-client rate limit policy the program writes.
const (
	EnvoyGateway       = "envoy-gateway"
	NginxGatewayFabric = "nginx-gateway-fabric"
)

// RateLimit is the budget of one client address: RequestsPerMinute sustained, and Burst more
// requests at once; beyond that a request gets 429.
type RateLimit struct {
	RequestsPerMinute int `json:"requestsPerMinute"`
	Burst             int `json:"burst"`
}

// ProxyTimeouts bound how long Nginx waits for the API: to connect, between two reads of the
// response, between two writes of the request.
type ProxyTimeouts struct {
	ConnectSeconds int `json:"connectSeconds"`
	ReadSeconds    int `json:"readSeconds"`
	SendSeconds    int `json:"sendSeconds"`
}

// EdgeIngress is the Ingress of the ingress entry mode.
type EdgeIngress struct {
	ClassName string `json:"className"`
}

// EdgeGateway is the Gateway of the gateway entry mode, and the implementation that runs it
// (its policy carries the per-client limit: the standard Gateway API has none).
type EdgeGateway struct {
	ClassName      string `json:"className"`
	Implementation string `json:"implementation"`
}

// EdgeTLS is the certificate of the public hosts, issued by cert-manager.
type EdgeTLS struct {
	Enabled bool `json:"enabled"`
	// SecretName is the Secret cert-manager writes the certificate and key to.
	SecretName string    `json:"secretName"`
	Issuer     TLSIssuer `json:"issuer"`
}

// TLSIssuer names the cert-manager Issuer or ClusterIssuer of the certificate. With Create the
// program creates it, as a namespaced Issuer: selfSigned (dev), or acme with HTTP-01 answered
// through the entry point.
type TLSIssuer struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Create     string `json:"create"`
	ACMEServer string `json:"acmeServer"`
	ACMEEmail  string `json:"acmeEmail"`
}

// Issuers the program can create.
const (
	CreateSelfSigned = "selfSigned"
	CreateACME       = "acme"
)

// Exposed says whether the edge has an entry point from outside the cluster.
func (e Edge) Exposed() bool { return e.Entry == EntryIngress || e.Entry == EntryGateway }

// TLSOn says whether the entry point terminates TLS with a cert-manager certificate.
func (e Edge) TLSOn() bool { return e.Exposed() && e.TLS.Enabled }

// Capacity is how many requests the edge holds at once: every worker of every pod, each
// request taking two of a worker's connections (the client's and the one to the API).
func (e Edge) Capacity() int { return e.Replicas * e.WorkerProcesses * (e.WorkerConnections / 2) }

// Images are the container images, pinned by tag. Override one to upgrade it.
type Images struct {
	Postgres         string `json:"postgres"`
	PostgresClient   string `json:"postgresClient"`
	PostgresExporter string `json:"postgresExporter"`
	PgBouncer        string `json:"pgbouncer"`
	Redis            string `json:"redis"`
	RedisExporter    string `json:"redisExporter"`
	InfluxDB         string `json:"influxdb"`
	// API and Worker are the Pynomaly application images; the migration job runs the API image.
	API    string `json:"api"`
	Worker string `json:"worker"`
	// Nginx is the edge proxy (an unprivileged image: non-root, port 8080); NginxExporter
	// turns its stub_status into Prometheus metrics.
	Nginx         string `json:"nginx"`
	NginxExporter string `json:"nginxExporter"`
	// The monitoring tier.
	Prometheus       string `json:"prometheus"`
	Alertmanager     string `json:"alertmanager"`
	Grafana          string `json:"grafana"`
	KubeStateMetrics string `json:"kubeStateMetrics"`
}

// Kubernetes says which cluster the program talks to. All empty means the ambient kubeconfig.
type Kubernetes struct {
	// Kubeconfig is a path to a kubeconfig file, or its contents.
	Kubeconfig string `json:"kubeconfig"`
	Context    string `json:"context"`
	// RenderYamlToDirectory writes manifests there instead of applying them (GitOps, no cluster).
	RenderYamlToDirectory string `json:"renderYamlToDirectory"`
	// AllowModeChange lets one update move a stack that has objects in a cluster to rendering,
	// or a rendered stack to a cluster. Either deletes every object from where the stack was, so
	// the program refuses it unless this says it is meant.
	AllowModeChange bool `json:"allowModeChange"`
}

// Quota is the namespace ResourceQuota. It must hold every Deployment at its maximum replicas
// plus every StatefulSet (see Footprint).
type Quota struct {
	RequestsCPU            string `json:"requestsCpu"`
	RequestsMemory         string `json:"requestsMemory"`
	LimitsCPU              string `json:"limitsCpu"`
	LimitsMemory           string `json:"limitsMemory"`
	RequestsStorage        string `json:"requestsStorage"`
	Pods                   int    `json:"pods"`
	PersistentVolumeClaims int    `json:"persistentVolumeClaims"`
}

// LimitRange gives containers that declare nothing sane requests and limits, and caps any one
// container so a typo cannot take a node.
type LimitRange struct {
	DefaultRequestCPU    string `json:"defaultRequestCpu"`
	DefaultRequestMemory string `json:"defaultRequestMemory"`
	DefaultCPU           string `json:"defaultCpu"`
	DefaultMemory        string `json:"defaultMemory"`
	MaxCPU               string `json:"maxCpu"`
	MaxMemory            string `json:"maxMemory"`
}

// Storage is the SSD StorageClass and the claims that no StatefulSet owns.
type Storage struct {
	// ExistingClass names a StorageClass the cluster already has; when set, none is created.
	ExistingClass string `json:"existingClass"`
	// ClassName is the name of the StorageClass this program creates.
	ClassName   string            `json:"className"`
	Provisioner string            `json:"provisioner"`
	Parameters  map[string]string `json:"parameters"`
	// ReclaimPolicy is Retain or Delete; prod keeps volumes whose claims are deleted.
	ReclaimPolicy string `json:"reclaimPolicy"`
	// BackupSize is the claim the database backups are written to.
	BackupSize string `json:"backupSize"`
	// ModelSize is the claim API and workers share for model artifacts.
	ModelSize string `json:"modelSize"`
	// ModelAccessMode is ReadWriteMany where API and workers on many nodes share the models;
	// that needs a class that supports it (ModelClassName), for example an NFS or EFS class.
	ModelAccessMode string `json:"modelAccessMode"`
	// ModelClassName is the class of the model claim; empty means the SSD class.
	ModelClassName string `json:"modelClassName"`
}

// Secrets controls generated credentials.
type Secrets struct {
	// Rotation is a keeper: change it (a date is a good value) and every generated credential
	// is generated anew on the next `pulumi up`.
	Rotation string `json:"rotation"`
}

// Credential is a secret value. Its String form is redacted so it cannot leak through logs or
// error messages by accident.
type Credential string

func (Credential) String() string { return "[secret]" }

// GoString keeps %#v from printing the value as well.
func (c Credential) GoString() string { return c.String() }

// Credentials replace generated values when set. Empty means "generate one".
type Credentials struct {
	PostgresSuperuserPassword   Credential `json:"postgresSuperuserPassword"`
	PostgresReplicationPassword Credential `json:"postgresReplicationPassword"`
	PostgresAppPassword         Credential `json:"postgresAppPassword"`
	RedisPassword               Credential `json:"redisPassword"`
	InfluxDBAdminPassword       Credential `json:"influxdbAdminPassword"`
	InfluxDBAdminToken          Credential `json:"influxdbAdminToken"`
	GrafanaAdminPassword        Credential `json:"grafanaAdminPassword"`
	APISecretKey                Credential `json:"apiSecretKey"`
}

// Resources are one container's requests and limits, as Kubernetes quantities.
type Resources struct {
	CPURequest    string `json:"cpuRequest"`
	MemoryRequest string `json:"memoryRequest"`
	CPULimit      string `json:"cpuLimit"`
	MemoryLimit   string `json:"memoryLimit"`
}

// Autoscaled is a Deployment whose replica count a HorizontalPodAutoscaler owns.
type Autoscaled struct {
	MinReplicas int       `json:"minReplicas"`
	MaxReplicas int       `json:"maxReplicas"`
	Resources   Resources `json:"resources"`
	// DBPoolSize is the database connections each pod holds (to the pooler).
	DBPoolSize int `json:"dbPoolSize"`
	// TargetCPUUtilization and TargetMemoryUtilization are the HPA's targets, in percent of
	// the requests.
	TargetCPUUtilization    int `json:"targetCpuUtilization"`
	TargetMemoryUtilization int `json:"targetMemoryUtilization"`
}

// Worker is the background-processing Deployment.
type Worker struct {
	Autoscaled
	// TaskTimeoutSeconds is the longest task; a worker being stopped gets that long to finish
	// (or cancel and requeue) what it holds before it is killed.
	TaskTimeoutSeconds int `json:"taskTimeoutSeconds"`
	// Concurrency is how many tasks one worker pod runs in parallel.
	Concurrency  int          `json:"concurrency"`
	QueueScaling QueueScaling `json:"queueScaling"`
}

// QueueScaling adds the task queue's depth to the worker HPA. It needs an external metrics
// adapter in the cluster (prometheus-adapter or KEDA's) that serves MetricName.
type QueueScaling struct {
	Enabled    bool   `json:"enabled"`
	MetricName string `json:"metricName"`
	// TargetPerPod is the queue depth one worker pod is expected to absorb.
	TargetPerPod int `json:"targetPerPod"`
}

// StatefulTier is a StatefulSet with one claim per replica.
type StatefulTier struct {
	Replicas    int       `json:"replicas"`
	Resources   Resources `json:"resources"`
	StorageSize string    `json:"storageSize"`
}

// ProtectState says whether stateful resources (namespace, claims, databases) are protected from
// deletion and kept in the cluster if removed from the program. True in prod.
func (s *Settings) ProtectState() bool { return s.Environment == Prod }

// SidecarResources are those of the small helper containers next to a database: metrics
// exporters and Redis Sentinels.
var SidecarResources = Resources{CPURequest: "25m", MemoryRequest: "32Mi", CPULimit: "100m", MemoryLimit: "64Mi"}

// KubeStateMetricsResources are kube-state-metrics', watching one namespace.
var KubeStateMetricsResources = Resources{CPURequest: "25m", MemoryRequest: "64Mi", CPULimit: "200m", MemoryLimit: "128Mi"}

// JobResources are those of one-off and scheduled jobs (database setup, backups).
var JobResources = Resources{CPURequest: "100m", MemoryRequest: "128Mi", CPULimit: "500m", MemoryLimit: "256Mi"}

// ReservedConnections of max_connections stay out of the pooler's reach: superuser reserve,
// Patroni, the metrics exporter, backups and setup jobs.
const ReservedConnections = 20
