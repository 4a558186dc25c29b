// Package config is the settings' schema: the typed Settings, the keys people set them by
// (keys.go) and each environment's defaults.
//
// Every stack names an environment (dev, staging or prod). The environment picks a profile
// (profiles.go) that carries the seed's numbers as defaults; the stack file then overrides only
// what it must. Package load reads a stack's values into Settings and validates them before a
// single resource is declared, so a bad value stops `pulumi preview` with one message per bad
// key.
package config

import "github.com/pynomaly/pynomaly-platform/internal/sizing"

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
	// SecretsBlinded: the credentials are placeholders (Source.Blinded), not to be checked.
	SecretsBlinded bool

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
	SLO          SLO          `json:"slo"`
	// Logging is the log pipeline (collector on every node, store).
	Logging Logging `json:"logging"`

	// Network is what the namespace's NetworkPolicies need to know of the cluster around it.
	Network Network `json:"network"`
	// NodeSelectors are the nodes each component's pods may run on; Tolerations the taints they
	// tolerate, so a dedicated node pool takes them; PriorityClasses their scheduling priority.
	NodeSelectors   NodeSelectors   `json:"nodeSelectors"`
	Tolerations     Tolerations     `json:"tolerations"`
	PriorityClasses PriorityClasses `json:"priorityClasses"`
	// Identity binds the pods that use object storage to a cloud identity; ServiceAccounts adds
	// annotations and labels to any component's account.
	Identity        Identity        `json:"identity"`
	ServiceAccounts ServiceAccounts `json:"serviceAccounts"`

	Images Images `json:"images"`
}

// StatefulTier is a StatefulSet with one claim per replica.
type StatefulTier struct {
	// Replicas are the StatefulSet's pods.
	Replicas int `json:"replicas"`
	// Resources are each pod's main container's requests and limits.
	Resources sizing.Resources `json:"resources"`
	// StorageSize is each pod's claim; empty: no claim (a Redis cache without persistence).
	StorageSize string `json:"storageSize"`
}

// ProtectState says whether stateful resources (namespace, claims, databases) are protected from
// deletion and kept in the cluster if removed from the program. True in prod.
func (s *Settings) ProtectState() bool { return s.Environment == Prod }
