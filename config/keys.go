package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Key is one top-level stack setting: its name under the project prefix, what it is, and where
// its value lands in Settings. The keys table below is the one list of them: loading, the
// settings view, validation order, Pulumi.yaml's config block and docs/settings.md (both written
// by `go generate ./config`) all read it. A field of an object key needs no entry: it is found
// in the Go type, and its doc comment is its documentation.
type Key struct {
	Name string
	// Summary says what the key is. An object key's fields are listed after it, from its type.
	Summary string
	// at points into Settings: a *string-kinded field for a plain key, a *Credential for a
	// credential, a pointer to a struct for an object (pulumi config set --path).
	at func(*Settings) any
	// defaults sets an object key's defaults in a profile (Profile); nil for the keys whose
	// defaults Profile sets itself.
	defaults func(*Settings, Environment)
}

// key is a key whose value lands at at; for a plain key or a credential, whose defaults Profile
// sets itself, or an object without defaults.
func key(name, summary string, at func(*Settings) any) Key {
	return Key{Name: name, Summary: summary, at: at}
}

// object is the key of an object setting of type T, with T's defaults per environment: a
// tier's type and defaults live in its settings_<tier>.go, and this entry is all the key table
// and Profile need of them.
func object[T any](name, summary string, at func(*Settings) *T, defaults func(Environment) T) Key {
	return Key{
		Name: name, Summary: summary,
		at:       func(s *Settings) any { return at(s) },
		defaults: func(s *Settings, env Environment) { *at(s) = defaults(env) },
	}
}

// everywhere is a default that is the same in every environment.
func everywhere[T any](defaults func() T) func(Environment) T {
	return func(Environment) T { return defaults() }
}

// resourcesNote is what every container's resources are.
const resourcesNote = "Resources are a container's requests and limits as Kubernetes quantities."

// credentialNote is the rule of a credential that replaces a generated one.
func credentialNote(shortest int) string {
	return "(set with --secret; " + strconv.Itoa(shortest) + " to 128 letters, digits, '-', '.', '_' or '~')."
}

//go:generate go run ./generate -root ..

// keyTable is every setting the program reads, in the order Pulumi.yaml declares them.
var keyTable = []Key{
	key("environment", "Profile of this stack: dev, staging or prod; prod also protects the namespace, claims and databases from deletion. Required.",
		func(s *Settings) any { return (*string)(&s.Environment) }),
	key("namespace", "Namespace of every namespaced object (a DNS label; not default or a kube- namespace).",
		func(s *Settings) any { return &s.Namespace }),
	key("security", "Pod Security: relaxed (baseline enforced, restricted reported) or enforced (restricted enforced: the strictest level, the seed's strict); staging and prod refuse a level below their profile's. Placement is its own setting; protection follows the environment. Empty: the profile's.",
		func(s *Settings) any { return (*string)(&s.Security) }),
	key("placement", "preferred or required. required: replicas of each database and the pooler never share a node, and never exceed a zone skew of 1 (DoNotSchedule); preferred: both are preferences, so small clusters schedule everything. Empty: the profile's.",
		func(s *Settings) any { return (*string)(&s.Placement) }),
	key("monitoring", "basic, full or comprehensive. Empty: the profile's.",
		func(s *Settings) any { return (*string)(&s.Monitoring) }),
	key("monitoringMode", "bundled (the program runs Prometheus, Grafana and, from full on, Alertmanager and kube-state-metrics) or operator (the cluster's Prometheus Operator: the program writes PodMonitors and a PrometheusRule). Empty: bundled.",
		func(s *Settings) any { return &s.MonitoringMode }),
	key("logLevel", "debug, info, warning, error or critical. Empty: the profile's.",
		func(s *Settings) any { return &s.LogLevel }),
	key("kubernetes", "Cluster access; all empty: the ambient kubeconfig.", func(s *Settings) any { return &s.Kubernetes }),
	object("quota", "The namespace's ResourceQuota.",
		func(s *Settings) *Quota { return &s.Quota }, quotaDefaults),
	object("limitRange", "The namespace's LimitRange.",
		func(s *Settings) *LimitRange { return &s.LimitRange }, limitRangeDefaults),
	object("storage", "The SSD StorageClass, the claims no StatefulSet owns, and volume snapshots (on whose schedule the shared model claim is copied off the cluster).",
		func(s *Settings) *Storage { return &s.Storage }, storageDefaults),
	object("secrets", "Where the credentials come from (generated, or an external secret manager through the External Secrets Operator), and their rotation: raise a counter by one and pulumi up to rotate without an outage (docs/operations.md).",
		func(s *Settings) *Secrets { return &s.Secrets }, secretsDefaults),
	key("access", "People and CI given Roles in the namespace, each user:NAME, group:NAME or serviceaccount:NAMESPACE/NAME. Empty: no one.",
		func(s *Settings) any { return &s.Access }),
	object("api", "API Deployment and its HPA. "+resourcesNote,
		func(s *Settings) *Autoscaled { return &s.API }, apiDefaults),
	object("worker", "Worker Deployment and its HPA. "+resourcesNote,
		func(s *Settings) *Worker { return &s.Worker }, workerDefaults),
	object("postgres", "PostgreSQL (Patroni): replicas, tuning, backups, WAL archiving and point-in-time restore. "+resourcesNote,
		func(s *Settings) *Postgres { return &s.Postgres }, postgresDefaults),
	object("pooler", "PgBouncer in front of PostgreSQL. "+resourcesNote,
		func(s *Settings) *Pooler { return &s.Pooler }, poolerDefaults),
	object("redisQueue", "Redis holding the task queue (no eviction, AOF). "+resourcesNote,
		func(s *Settings) *StatefulTier { return &s.RedisQueue }, redisQueueDefaults),
	object("redisCache", "Redis holding cache and sessions (LRU); no storageSize: no persistence. "+resourcesNote,
		func(s *Settings) *StatefulTier { return &s.RedisCache }, redisCacheDefaults),
	object("influxdb", "InfluxDB: retention, downsampling and backups. "+resourcesNote,
		func(s *Settings) *InfluxDB { return &s.InfluxDB }, influxDBDefaults),
	object("edge", "Nginx edge: rate limit per client address, capacity, and the entry point (Ingress or Gateway) with its certificate. "+resourcesNote,
		func(s *Settings) *Edge { return &s.Edge }, edgeDefaults),
	object("tls", "Encryption in transit between the services (cert-manager).",
		func(s *Settings) *InternalTLS { return &s.TLS }, internalTLSDefaults),
	object("prometheus", "Prometheus of the monitoring tier. "+resourcesNote,
		func(s *Settings) *Prometheus { return &s.Prometheus }, prometheusDefaults),
	object("alertmanager", "Alertmanager (monitoring full and comprehensive) and where alerts go. "+resourcesNote,
		func(s *Settings) *Alertmanager { return &s.Alertmanager }, alertmanagerDefaults),
	object("grafana", "Grafana of the monitoring tier. "+resourcesNote,
		func(s *Settings) *Grafana { return &s.Grafana }, grafanaDefaults),
	object("logging", "Centralized logs: a collector on every node ships the platform's container logs, labelled, to the bundled store or an external one (docs/logging.md). "+resourcesNote,
		func(s *Settings) *Logging { return &s.Logging }, loggingDefaults),
	object("slo", "The API's objectives over 30 days (percent and seconds): burn-rate alerts and the API dashboard's error budget (docs/monitoring.md).",
		func(s *Settings) *SLO { return &s.SLO }, sloDefaults),
	object("network", "What the NetworkPolicies need to know of the cluster: every pod is denied all traffic but the flows of docs/security.md.",
		func(s *Settings) *Network { return &s.Network }, networkDefaults),
	object("nodeSelectors", "Nodes each component's pods run on, by node labels (a nodeSelector): an entry per component and a default for the others. "+
		"Entries: default, or the component label of pods the stack runs (kubectl get pods -L component); "+
		"an entry for any other is refused, and the message lists the stack's components. Empty: any node.",
		func(s *Settings) *NodeSelectors { return &s.NodeSelectors }, everywhere(nodeSelectorDefaults)),
	object("tolerations", "Taints each component's pods tolerate, so a dedicated node pool's tainted nodes take them (pair with the pool's label in nodeSelectors): "+
		"an entry per component, a list of {key, operator, value, effect}, and a default for the others. Entries as nodeSelectors'. Empty: none.",
		func(s *Settings) *Tolerations { return &s.Tolerations }, everywhere(func() Tolerations { return Tolerations{} })),
	object("priorityClasses", "Scheduling priority: the stack's own classes (databases above the application above jobs), or existing ones per component.",
		func(s *Settings) *PriorityClasses { return &s.PriorityClasses }, everywhere(func() PriorityClasses { return PriorityClasses{Names: map[string]string{}} })),
	object("identity", "The cloud identity of the pods that use object storage (PostgreSQL, and the backup jobs that copy data off the cluster): IRSA on aws, Workload Identity on gcp (by kubernetes.cloud).",
		func(s *Settings) *Identity { return &s.Identity }, everywhere(func() Identity { return Identity{} })),
	object("serviceAccounts", "Extra annotations and labels of a component's ServiceAccount: an entry per component, {annotations, labels}. Empty: none.",
		func(s *Settings) *ServiceAccounts { return &s.ServiceAccounts }, everywhere(func() ServiceAccounts { return ServiceAccounts{} })),
	object("images", "Pinned images and when the kubelet pulls them.",
		func(s *Settings) *Images { return &s.Images }, everywhere(imageDefaults)),
	key("postgresSuperuserPassword", "Replaces the generated PostgreSQL superuser password "+credentialNote(16),
		func(s *Settings) any { return &s.Credentials.PostgresSuperuserPassword }),
	key("postgresReplicationPassword", "Replaces the generated PostgreSQL replication password "+credentialNote(16),
		func(s *Settings) any { return &s.Credentials.PostgresReplicationPassword }),
	key("postgresMonitorPassword", "Replaces the generated password of the PostgreSQL metrics exporter's login "+credentialNote(16),
		func(s *Settings) any { return &s.Credentials.PostgresMonitorPassword }),
	key("postgresAppPassword", "Replaces the generated password of the application's database user "+credentialNote(16),
		func(s *Settings) any { return &s.Credentials.PostgresAppPassword }),
	key("redisPassword", "Replaces the generated Redis password "+credentialNote(16),
		func(s *Settings) any { return &s.Credentials.RedisPassword }),
	key("influxdbAdminPassword", "Replaces the generated InfluxDB admin password "+credentialNote(16),
		func(s *Settings) any { return &s.Credentials.InfluxDBAdminPassword }),
	key("influxdbAdminToken", "Replaces the generated InfluxDB admin token "+credentialNote(32),
		func(s *Settings) any { return &s.Credentials.InfluxDBAdminToken }),
	key("grafanaAdminPassword", "Replaces the generated Grafana admin password "+credentialNote(16),
		func(s *Settings) any { return &s.Credentials.GrafanaAdminPassword }),
	key("apiSecretKey", "Replaces the generated signing key of the API "+credentialNote(32),
		func(s *Settings) any { return &s.Credentials.APISecretKey }),
	key("alertmanagerWebhookUrl", "Alertmanager's webhook receiver: every alert is POSTed to this http(s) URL (set with --secret; such URLs often carry a token). Empty: no webhook.",
		func(s *Settings) any { return &s.Credentials.AlertmanagerWebhookURL }),
}

// KeyTable returns every setting, in Pulumi.yaml's order.
func KeyTable() []Key { return slices.Clone(keyTable) }

// Keys lists every configuration key the program reads, without the project prefix.
func Keys() []string {
	names := make([]string, len(keyTable))
	for i, k := range keyTable {
		names[i] = k.Name
	}
	return names
}

// Credential says whether the key replaces a generated credential (or is a secret only the
// operator has): a top-level key of its own, so `pulumi config set --secret KEY` marks exactly it.
func (k Key) Credential() bool {
	_, ok := k.at(&Settings{}).(*Credential)
	return ok
}

// Object says whether the key takes an object (pulumi config set --path KEY.FIELD VALUE): one
// with fields, or a map whose entries are named by the stack (Map).
func (k Key) Object() bool {
	kind := reflect.TypeOf(k.at(&Settings{})).Elem().Kind()
	return kind == reflect.Struct || kind == reflect.Map
}

// Map says whether the key is an object whose entries the stack names (nodeSelectors), rather
// than one with fields: its Summary says what the entries are, its type's doc comment the rest.
func (k Key) Map() bool {
	return k.Object() && k.Type().Kind() == reflect.Map
}

// Type is the object's Go type, or nil for a plain key.
func (k Key) Type() reflect.Type {
	if !k.Object() {
		return nil
	}
	return reflect.TypeOf(k.at(&Settings{})).Elem()
}

// Description is what Pulumi.yaml says of the key: its summary and, for an object, every field
// it accepts, nested ones too, so that `pulumi config` and the program cannot disagree.
func (k Key) Description() string {
	if !k.Object() || k.Map() {
		return k.Summary
	}
	return k.Summary + " Fields: " + fieldTree(k.Type()) + "."
}

// Fields are the JSON fields an object key accepts, a nested object's as parent.child, in the
// order Settings declares them; none for a plain key or a map.
func (k Key) Fields() []string {
	if !k.Object() || k.Map() {
		return nil
	}
	return fieldPaths(k.Type(), "")
}

// fieldPaths walks a settings struct: embedded structs lend their fields, struct-valued
// fields add their own under their name.
func fieldPaths(t reflect.Type, prefix string) []string {
	var paths []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			paths = append(paths, fieldPaths(f.Type, prefix)...)
			continue
		}
		name := JSONName(f)
		if name == "" {
			continue
		}
		paths = append(paths, prefix+name)
		if f.Type.Kind() == reflect.Struct {
			paths = append(paths, fieldPaths(f.Type, prefix+name+".")...)
		}
	}
	return paths
}

// fieldTree names a struct's fields in declaration order, a nested struct's in braces after its
// name: "replicas, resources {cpuRequest, ...}, storageSize".
func fieldTree(t reflect.Type) string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		switch name := JSONName(f); {
		case f.Anonymous:
			names = append(names, fieldTree(f.Type))
		case name == "":
		case f.Type.Kind() == reflect.Struct:
			names = append(names, name+" {"+fieldTree(f.Type)+"}")
		default:
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// JSONName is the name a field has in a stack setting, or "" for one that cannot be set.
func JSONName(f reflect.StructField) string {
	if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag != "-" {
		return tag
	}
	return ""
}

// In is the key's place in s: a *string-kinded field for a plain key, a *Credential for a
// credential, a pointer to a struct for an object.
func (k Key) In(s *Settings) any { return k.at(s) }
