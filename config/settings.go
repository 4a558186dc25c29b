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
// enforced and strict both enforce "restricted"; strict also protects stateful resources.
const (
	Relaxed  SecurityLevel = "relaxed"
	Enforced SecurityLevel = "enforced"
	Strict   SecurityLevel = "strict"
)

// MonitoringLevel is how much the monitoring tier collects: basic, full or comprehensive.
type MonitoringLevel string

// Monitoring levels of the seed's environment table.
const (
	Basic         MonitoringLevel = "basic"
	Full          MonitoringLevel = "full"
	Comprehensive MonitoringLevel = "comprehensive"
)

// Settings is everything the program needs to know about one stack. Components receive parts
// of it as plain values; none of them reads stack configuration itself.
type Settings struct {
	// Project is the Pulumi project name, the namespace of every configuration key.
	Project     string          `json:"-"`
	Environment Environment     `json:"-"`
	Namespace   string          `json:"namespace"`
	Security    SecurityLevel   `json:"security"`
	Monitoring  MonitoringLevel `json:"monitoring"`
	LogLevel    string          `json:"logLevel"`

	Kubernetes Kubernetes `json:"kubernetes"`
	Quota      Quota      `json:"quota"`
	LimitRange LimitRange `json:"limitRange"`
	Storage    Storage    `json:"storage"`
	Secrets    Secrets    `json:"secrets"`
	// Credentials are operator-supplied values (`pulumi config set --secret`) that replace
	// generated ones. They are never logged and only ever leave this package as secrets.
	Credentials Credentials `json:"credentials"`

	API    Autoscaled `json:"api"`
	Worker Autoscaled `json:"worker"`

	Postgres StatefulTier `json:"postgres"`
	// RedisQueue holds the task queue (no eviction, AOF); RedisCache holds cache and sessions (LRU).
	RedisQueue StatefulTier `json:"redisQueue"`
	RedisCache StatefulTier `json:"redisCache"`
	InfluxDB   StatefulTier `json:"influxdb"`
}

// Kubernetes says which cluster the program talks to. All empty means the ambient kubeconfig.
type Kubernetes struct {
	// Kubeconfig is a path to a kubeconfig file, or its contents.
	Kubeconfig string `json:"kubeconfig"`
	Context    string `json:"context"`
	// RenderYamlToDirectory writes manifests there instead of applying them (GitOps, no cluster).
	RenderYamlToDirectory string `json:"renderYamlToDirectory"`
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
