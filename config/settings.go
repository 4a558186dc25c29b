// Package config turns a stack's configuration into typed, validated Settings.
//
// Every stack names an environment (dev, staging or prod). The environment picks a profile
// (profiles.go) that carries the seed's numbers as defaults; the stack file then overrides only
// what it must. Validate runs before a single resource is declared, so a bad value stops
// `pulumi preview` with one message per bad key.
package config

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"
)

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

// SecurityLevel is how strictly pods are admitted: relaxed (dev) or enforced (staging, prod).
type SecurityLevel string

// Security levels, weakest first. Relaxed enforces Pod Security "baseline" and warns on
// "restricted"; enforced enforces "restricted", the strictest level Kubernetes has, so it is
// also the seed's "strict" of prod. (A third name, strict, used to mean the same as enforced.)
// The level decides neither where replicas run (Placement) nor whether stateful resources are
// protected (the environment: ProtectState).
const (
	Relaxed  SecurityLevel = "relaxed"
	Enforced SecurityLevel = "enforced"
)

// SecurityLevels lists the levels, weakest first.
var SecurityLevels = []SecurityLevel{Relaxed, Enforced}

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
	Project string `json:"-"`
	// secretsBlinded: the credentials are placeholders (Source.Blinded), not to be checked.
	secretsBlinded bool

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
	Access     Access     `json:"access"`
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
	// TLS is encryption in transit between the services.
	TLS InternalTLS `json:"tls"`

	// The monitoring tier; what of it runs follows Monitoring (see MonitoringLevel.Alerting).
	Prometheus   Prometheus   `json:"prometheus"`
	Alertmanager Alertmanager `json:"alertmanager"`
	Grafana      Grafana      `json:"grafana"`

	// Network is what the namespace's NetworkPolicies need to know of the cluster around it.
	Network Network `json:"network"`

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
	SynchronousMode bool            `json:"synchronousMode"`
	Backup          PostgresBackup  `json:"backup"`
	WALArchive      WALArchive      `json:"walArchive"`
	Restore         PostgresRestore `json:"restore"`
}

// PostgresRestore makes a new cluster start as a point-in-time copy of one whose WAL was
// archived to postgres.walArchive's bucket: Spilo's clone from WAL-G (CLONE_METHOD
// CLONE_WITH_WALE) fetches the newest base backup before TargetTime and replays the archived
// WAL up to it. Only a cluster without data bootstraps; an existing one ignores it.
type PostgresRestore struct {
	// TargetTime is the point to recover to, RFC 3339 with its zone, or "latest": everything
	// archived (after a lost cluster); empty: no restore.
	TargetTime string `json:"targetTime"`
	// FromNamespace is the namespace of the stack whose archive is read (WAL-G's path holds
	// it); empty: this stack's own.
	FromNamespace string `json:"fromNamespace"`
}

// LatestTarget is the restore target "everything archived".
const LatestTarget = "latest"

// Target is TargetTime parsed: the zero time for LatestTarget; ok is false when it is neither.
func (r PostgresRestore) Target() (t time.Time, ok bool) {
	if r.TargetTime == LatestTarget {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, r.TargetTime)
	return t, err == nil
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
	// BaseBackupSchedule is when Spilo pushes a base backup (BACKUP_SCHEDULE, a cron schedule
	// in UTC); a restore replays the WAL written since the last one, so its spacing bounds the
	// replay time of a point-in-time restore.
	BaseBackupSchedule string `json:"baseBackupSchedule"`
	// RetentionDays keeps at least this many base backups and every one younger than this many
	// days, with the WAL to replay them (Spilo's BACKUP_NUM_TO_RETAIN is both): the window a
	// point-in-time restore can reach back into.
	RetentionDays int `json:"retentionDays"`
}

// MaxArchiveTimeoutSeconds bounds archive_timeout: a segment is shipped at least every five
// minutes, well inside the seed's recovery point of 15.
const MaxArchiveTimeoutSeconds = 300

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
	// Backup is the daily `influx backup` into the backup claim.
	Backup InfluxDBBackup `json:"backup"`
}

// InfluxDBBackup is when InfluxDB is backed up (a cron schedule in UTC) and for how many days
// its backups are kept.
type InfluxDBBackup struct {
	Schedule      string `json:"schedule"`
	RetentionDays int    `json:"retentionDays"`
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

// InternalTLS is verified TLS on every connection between the services: each server presents
// a cert-manager certificate, each client checks it against the internal CA.
type InternalTLS struct {
	Internal bool `json:"internal"`
	// Issuer signs the servers' certificates; an empty Name means the program's own CA (a
	// self-signed root and a namespaced CA Issuer).
	Issuer IssuerRef `json:"issuer"`
}

// IssuerRef names an existing cert-manager Issuer or ClusterIssuer.
type IssuerRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Issuers the program can create.
const (
	CreateSelfSigned = "selfSigned"
	CreateACME       = "acme"
)

// Network is the cluster around the namespace, as its NetworkPolicies address it: every pod is
// denied everything but the flows of one table (components/security_flows.go), and the peers
// outside the namespace are named here.
type Network struct {
	// EntryNamespace is where the entry point's pods run (the Ingress controller's, or the
	// Gateway's data plane): the only namespace whose pods reach Nginx. Empty: the usual one of
	// edge.entry's implementation (EntryNamespaces).
	EntryNamespace string `json:"entryNamespace"`
	// KubernetesAPI is where the API server's endpoints are: Patroni keeps its state there, and
	// Prometheus and kube-state-metrics read it. A NetworkPolicy sees the endpoint's address and
	// port (kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes), not
	// the Service's.
	KubernetesAPI APIServer `json:"kubernetesApi"`
	// NodeCIDRs hold the nodes' addresses: Prometheus scrapes every kubelet (port 10250).
	NodeCIDRs []string `json:"nodeCidrs"`
	// ObjectStorageCIDRs are where WAL-G archives to (postgres.walArchive); needed when it is on.
	ObjectStorageCIDRs []string `json:"objectStorageCidrs"`
	// PrometheusNamespace is the cluster's Prometheus's namespace, in monitoringMode operator:
	// its pods (app.kubernetes.io/name=prometheus) may scrape every metrics port.
	PrometheusNamespace string `json:"prometheusNamespace"`
}

// APIServer is the Kubernetes API server's endpoints.
type APIServer struct {
	CIDRs []string `json:"cidrs"`
	Ports []int    `json:"ports"`
}

// EntryNamespaces are where each entry point's pods run by default: ingress-nginx's controller,
// Envoy Gateway's proxies (its default, not the GatewayNamespace mode), NGINX Gateway Fabric 1.x's
// data plane. Keyed by edge.entry, and for gateway by edge.gateway.implementation.
var EntryNamespaces = map[string]string{
	string(EntryIngress): "ingress-nginx",
	EnvoyGateway:         "envoy-gateway-system",
	NginxGatewayFabric:   "nginx-gateway",
}

// defaultEntryNamespace is edge.entry's usual namespace, or "" without an entry point.
func (s *Settings) defaultEntryNamespace() string {
	switch s.Edge.Entry {
	case EntryIngress:
		return EntryNamespaces[string(EntryIngress)]
	case EntryGateway:
		return EntryNamespaces[s.Edge.Gateway.Implementation]
	}
	return ""
}

// KubeletPort is where Prometheus scrapes each node's kubelet and cAdvisor.
const KubeletPort = 10250

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
	// Kubectl is a kubectl image with a shell: the snapshot job's (storage.snapshots).
	Kubectl string `json:"kubectl"`
	// PullPolicy is every container's imagePullPolicy. Always (the default) has the kubelet ask
	// the registry at each container start: the pod's own pull credentials are checked every
	// time (an image another pod pulled onto the node is not simply reused), and a tag that its
	// publisher moved is noticed instead of nodes running different content under one name.
	// Layers a node has are not downloaded again. IfNotPresent suits a registry that rate-limits
	// or is not always reachable, ideally with images pinned by digest.
	PullPolicy string `json:"pullPolicy"`
	// PrometheusAdapter serves the queue depth as an external metric (worker.queueScaling).
	PrometheusAdapter string `json:"prometheusAdapter"`
}

// PullPolicies are the image pull policies images.pullPolicy accepts (Kubernetes' own).
var PullPolicies = []string{"Always", "IfNotPresent", "Never"}

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
	// SkipPreflight names cluster checks not to run before anything is declared (PreflightChecks),
	// or "all"; for a cluster that provides a piece in a way the check cannot see.
	SkipPreflight []string `json:"skipPreflight"`
	// ClusterIdentifier names the cluster to the provider; empty: the stack's name. The provider
	// re-creates every object only when it changes, never because the kubeconfig differs (a CI
	// job's credentials, embedded certificates instead of files): by default it treats a changed
	// kubeconfig cluster entry as a new cluster, and replaces the whole stack.
	ClusterIdentifier string `json:"clusterIdentifier"`
}

// PreflightChecks are the checks of the cluster a stack targets (platform/preflight.go), by the
// name kubernetes.skipPreflight takes.
var PreflightChecks = []string{
	"kubernetes-version", "metrics-api", "external-metrics-api", "external-metrics-holder", "cert-manager", "tls-issuer",
	"ingress-class", "gateway-api", "gateway-class", "storage-class", "prometheus-operator",
	"wal-archive-secret", "claim-size", "volume-snapshots", "volume-snapshot-class",
}

// ClusterIdentifierOr is the cluster's identifier: the setting, or stack when it is empty.
func (k Kubernetes) ClusterIdentifierOr(stack string) string {
	if k.ClusterIdentifier != "" {
		return k.ClusterIdentifier
	}
	return stack
}

// Skips says whether the preflight check named check is skipped.
func (k Kubernetes) Skips(check string) bool {
	return slices.Contains(k.SkipPreflight, "all") || slices.Contains(k.SkipPreflight, check)
}

// Quota is the namespace ResourceQuota. It must hold every Deployment at its maximum replicas
// plus every StatefulSet (see Footprint).
type Quota struct {
	RequestsCPU     string `json:"requestsCpu"`
	RequestsMemory  string `json:"requestsMemory"`
	LimitsCPU       string `json:"limitsCpu"`
	LimitsMemory    string `json:"limitsMemory"`
	RequestsStorage string `json:"requestsStorage"`
	// RequestsEphemeralStorage and LimitsEphemeralStorage cap the node disk the namespace's
	// containers may ask for and use (logs, emptyDirs, writable roots).
	RequestsEphemeralStorage string `json:"requestsEphemeralStorage"`
	LimitsEphemeralStorage   string `json:"limitsEphemeralStorage"`
	Pods                     int    `json:"pods"`
	PersistentVolumeClaims   int    `json:"persistentVolumeClaims"`
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
	// The same for ephemeral storage: a container's node disk (logs, emptyDirs, a writable root).
	DefaultRequestEphemeralStorage string `json:"defaultRequestEphemeralStorage"`
	DefaultEphemeralStorage        string `json:"defaultEphemeralStorage"`
	MaxEphemeralStorage            string `json:"maxEphemeralStorage"`
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
	ModelClassName string    `json:"modelClassName"`
	Snapshots      Snapshots `json:"snapshots"`
}

// Snapshots are scheduled VolumeSnapshots of every claim in the namespace (the seed's daily PVC
// snapshots), taken by the cluster's CSI driver through ClassName. Off while ClassName is empty:
// the snapshot controller and a VolumeSnapshotClass are a cluster's add-ons, which the program
// cannot assume (the preflight checks both once a class is named).
type Snapshots struct {
	ClassName string `json:"className"`
	// Schedule is a cron schedule in UTC.
	Schedule string `json:"schedule"`
	// RetentionDays: snapshots taken more than this many days ago are deleted, once a run has
	// taken its new ones.
	RetentionDays int `json:"retentionDays"`
}

// On says whether snapshots are taken.
func (s Snapshots) On() bool { return s.ClassName != "" }

// Secrets controls generated credentials.
type Secrets struct {
	// Rotation are the credentials' generations: raising one rotates that credential, raising
	// All rotates every one that rotates without an outage (see the README's rotation steps).
	Rotation Rotation `json:"rotation"`
}

// Rotation counts rotations. A credential's generation is All plus its own counter; generation 0
// is the credential as first generated. Each rotation generates the next generation while the
// previous one stays valid until every client has moved to the new one.
type Rotation struct {
	All         int `json:"all"`
	PostgresApp int `json:"postgresApp"`
	Redis       int `json:"redis"`
}

// PostgresAppGeneration is the application login's generation; an operator-set password is the
// operator's to change, so it stays at generation 0.
func (s *Settings) PostgresAppGeneration() int {
	if s.Credentials.PostgresAppPassword != "" {
		return 0
	}
	return s.Secrets.Rotation.All + s.Secrets.Rotation.PostgresApp
}

// RedisGeneration is the Redis password's generation, as PostgresAppGeneration.
func (s *Settings) RedisGeneration() int {
	if s.Credentials.RedisPassword != "" {
		return 0
	}
	return s.Secrets.Rotation.All + s.Secrets.Rotation.Redis
}

// Access are the people and CI jobs bound to the platform's Roles in the namespace, each a
// subject: user:NAME, group:NAME or serviceaccount:NAMESPACE/NAME.
type Access struct {
	// Viewers may read every object of the namespace except Secrets, and the pods' logs.
	Viewers []string `json:"viewers"`
	// Deployers may do in the namespace what `pulumi up` of this program does there.
	Deployers []string `json:"deployers"`
}

// Credential is a secret value. Its String form is redacted so it cannot leak through logs or
// error messages by accident.
type Credential string

func (Credential) String() string { return "[secret]" }

// GoString keeps %#v from printing the value as well.
func (c Credential) GoString() string { return c.String() }

// Credentials replace generated values when set. Empty means "generate one" (the webhook URL:
// no webhook).
type Credentials struct {
	PostgresSuperuserPassword   Credential `json:"postgresSuperuserPassword"`
	PostgresReplicationPassword Credential `json:"postgresReplicationPassword"`
	PostgresAppPassword         Credential `json:"postgresAppPassword"`
	RedisPassword               Credential `json:"redisPassword"`
	InfluxDBAdminPassword       Credential `json:"influxdbAdminPassword"`
	InfluxDBAdminToken          Credential `json:"influxdbAdminToken"`
	GrafanaAdminPassword        Credential `json:"grafanaAdminPassword"`
	APISecretKey                Credential `json:"apiSecretKey"`
	// AlertmanagerWebhookURL is no generated value but a secret the operator alone has: the URL
	// Alertmanager's webhook receiver posts every alert to (such URLs often carry a token).
	AlertmanagerWebhookURL Credential `json:"alertmanagerWebhookUrl"`
}

// Resources are one container's requests and limits, as Kubernetes quantities.
type Resources struct {
	CPURequest    string `json:"cpuRequest"`
	MemoryRequest string `json:"memoryRequest"`
	CPULimit      string `json:"cpuLimit"`
	MemoryLimit   string `json:"memoryLimit"`
	// EphemeralStorageRequest and EphemeralStorageLimit bound the node disk the container
	// uses: its logs, its disk-backed emptyDirs and a writable root (claims do not count). The
	// scheduler places pods by the request; past the limit the kubelet evicts the pod, so a
	// runaway temporary file cannot fill a node's disk under its neighbours.
	EphemeralStorageRequest string `json:"ephemeralStorageRequest"`
	EphemeralStorageLimit   string `json:"ephemeralStorageLimit"`
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
// exporters and Redis Sentinels. They write nothing but their logs (the kubelet rotates a
// container's log at 5 x 10Mi).
var SidecarResources = Resources{CPURequest: "25m", MemoryRequest: "32Mi", CPULimit: "100m", MemoryLimit: "64Mi",
	EphemeralStorageRequest: "32Mi", EphemeralStorageLimit: "128Mi"}

// KubeStateMetricsResources are kube-state-metrics', watching one namespace.
var KubeStateMetricsResources = Resources{CPURequest: "25m", MemoryRequest: "64Mi", CPULimit: "200m", MemoryLimit: "128Mi",
	EphemeralStorageRequest: "32Mi", EphemeralStorageLimit: "128Mi"}

// MetricsAdapterResources are prometheus-adapter's, serving one external metric.
var MetricsAdapterResources = Resources{CPURequest: "25m", MemoryRequest: "64Mi", CPULimit: "250m", MemoryLimit: "256Mi",
	EphemeralStorageRequest: "64Mi", EphemeralStorageLimit: "256Mi"}

// MetricsAdapter says whether the program runs the external metrics adapter: in bundled mode,
// wherever the workers scale on the queue's depth.
func (s *Settings) MetricsAdapter() bool { return s.Bundled() && s.Worker.QueueScaling.Enabled }

// MetricsAdapterReplicas are the adapter's pods: two at the comprehensive level, so the worker
// HPA keeps its queue metric through a node's loss.
func (s *Settings) MetricsAdapterReplicas() int {
	if s.Monitoring == Comprehensive {
		return 2
	}
	return 1
}

// JobResources are those of one-off and scheduled jobs (database setup, backups); a backup's
// dump goes to its claim, /tmp holds small scripts.
var JobResources = Resources{CPURequest: "100m", MemoryRequest: "128Mi", CPULimit: "500m", MemoryLimit: "256Mi",
	EphemeralStorageRequest: "64Mi", EphemeralStorageLimit: "512Mi"}

// ReservedConnections of max_connections stay out of the pooler's reach: superuser reserve,
// Patroni, the metrics exporter, backups and setup jobs.
const ReservedConnections = 20

// StorePort is the port WAL-G reaches its object store on: the endpoint's own, or HTTP's or
// HTTPS's by its scheme (AWS: HTTPS); 0 while archiving is off.
func (w WALArchive) StorePort() int {
	if w.S3Bucket == "" {
		return 0
	}
	u, err := url.Parse(w.Endpoint)
	if err != nil || w.Endpoint == "" {
		return 443
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}

// Ports are those Alertmanager sends notifications to, by name: https for Slack and PagerDuty,
// smtp for the smarthost's port; none without a receiver.
func (r AlertReceivers) Ports() map[string]int {
	ports := map[string]int{}
	if r.SlackChannel != "" || r.PagerDuty {
		ports["https"] = 443
	}
	if r.Email.To != "" {
		if _, port, err := net.SplitHostPort(r.Email.Smarthost); err == nil {
			if p, err := strconv.Atoi(port); err == nil {
				ports["smtp"] = p
			}
		}
	}
	return ports
}
