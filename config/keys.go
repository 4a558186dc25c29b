package config

import (
	"reflect"
	"slices"
)

// Key is one stack setting: its name under the project prefix and its description.
type Key struct {
	Name string
	// Description is what Pulumi.yaml says of the key, word for word (a test holds it there).
	// An object's description names every field it accepts, nested ones too, so that
	// `pulumi config` and the program cannot disagree about what can be set.
	Description string
}

// resourcesFields is the shape of every container's requests and limits.
const resourcesFields = "resources {cpuRequest, memoryRequest, cpuLimit, memoryLimit, ephemeralStorageRequest, ephemeralStorageLimit}"

// keyTable is every setting the program reads, in the order Pulumi.yaml declares them. A new
// setting starts here; tests then ask for it in Pulumi.yaml, the README and Parse.
var keyTable = []Key{
	{"environment", "Profile of this stack: dev, staging or prod; prod also protects the namespace, claims and databases from deletion. Required."},
	{"namespace", "Namespace of every namespaced object (a DNS label; not default or a kube- namespace)."},
	{"security", "Pod Security: relaxed (baseline enforced, restricted reported) or enforced (restricted enforced: the strictest level, the seed's strict); staging and prod refuse a level below their profile's. Placement is its own setting; protection follows the environment. Empty: the profile's."},
	{"placement", "preferred or required. required: replicas of each database and the pooler never share a node, and never exceed a zone skew of 1 (DoNotSchedule); preferred: both are preferences, so small clusters schedule everything. Empty: the profile's."},
	{"monitoring", "basic, full or comprehensive. Empty: the profile's."},
	{"monitoringMode", "bundled (the program runs Prometheus, Grafana and, from full on, Alertmanager and kube-state-metrics) or operator (the cluster's Prometheus Operator: the program writes PodMonitors and a PrometheusRule). Empty: bundled."},
	{"logLevel", "debug, info, warning, error or critical. Empty: the profile's."},
	{"kubernetes", "Cluster access: kubeconfig (a path, or contents set with --secret), context, renderYamlToDirectory (write manifests, no cluster), allowModeChange (true lets one update move a deployed stack between a cluster and rendering, which deletes its objects from the one it leaves), skipPreflight (cluster checks not to run before anything is declared, or all), clusterIdentifier (the cluster's name to the provider, which re-creates every object only when it changes; empty: the stack's name)."},
	{"quota", "ResourceQuota: requestsCpu, requestsMemory, limitsCpu, limitsMemory, requestsStorage, requestsEphemeralStorage, limitsEphemeralStorage, pods, persistentVolumeClaims."},
	{"limitRange", "LimitRange: defaultRequestCpu, defaultRequestMemory, defaultCpu, defaultMemory, maxCpu, maxMemory, defaultRequestEphemeralStorage, defaultEphemeralStorage, maxEphemeralStorage."},
	{"storage", "existingClass, className, provisioner, parameters, reclaimPolicy, backupSize, modelSize, modelAccessMode, modelClassName, snapshots {className (a VolumeSnapshotClass; empty: no snapshots), schedule, retentionDays}."},
	{"secrets", "rotation {all, postgresApp, redis}: rotations so far; raise one by one and pulumi up to rotate that credential (all: each of them) without an outage, as the README describes step by step."},
	{"access", "People and CI given Roles in the namespace: viewers (read everything but Secrets) and deployers (what pulumi up of this program changes in the namespace), each a list of user:NAME, group:NAME or serviceaccount:NAMESPACE/NAME. Empty: no one."},
	{"api", "API Deployment: minReplicas, maxReplicas, dbPoolSize, targetCpuUtilization, targetMemoryUtilization (HPA targets, % of requests), " + resourcesFields + "."},
	{"worker", "Worker Deployment: minReplicas, maxReplicas, dbPoolSize, targetCpuUtilization, targetMemoryUtilization, taskTimeoutSeconds, concurrency, queueScaling {enabled, metricName, targetPerPod}, " + resourcesFields + "."},
	{"postgres", "PostgreSQL (Patroni): replicas, " + resourcesFields + ", storageSize, maxConnections, synchronousMode (a commit waits for a replica; a failover loses no committed transaction), backup {schedule, timeZone, retentionDays, deadlineSeconds}, walArchive {s3Bucket (required in prod), region, endpoint, credentialsSecret, timeoutSeconds (60-300), baseBackupSchedule, retentionDays}, restore {targetTime, fromNamespace} (a new cluster bootstraps as a point-in-time copy of the archive)."},
	{"pooler", "PgBouncer: replicas, poolSize (server connections per pod), maxClientConnections (per pod), " + resourcesFields + "."},
	{"redisQueue", "Redis holding the task queue (no eviction, AOF): replicas, " + resourcesFields + ", storageSize."},
	{"redisCache", "Redis holding cache and sessions (LRU): replicas, " + resourcesFields + ", storageSize (empty: no persistence)."},
	{"influxdb", "InfluxDB: replicas, " + resourcesFields + ", storageSize, retention, longTermRetention, downsampleEvery, backup {schedule, retentionDays} (influx backup into the backup claim)."},
	{"edge", "Nginx edge: replicas, " + resourcesFields + ", entry (ingress, gateway or none), hosts, rateLimit {requestsPerMinute, burst} per client address, trustedProxies (CIDRs whose X-Forwarded-For is believed), clientMaxBodySize, timeouts {connectSeconds, readSeconds, sendSeconds}, concurrentRequests, workerProcesses, workerConnections (replicas x workerProcesses x workerConnections / 2 must hold concurrentRequests), ingress {className}, gateway {className, implementation: envoy-gateway or nginx-gateway-fabric}, tls {enabled, secretName, issuer {kind, name, create (selfSigned or acme), acmeServer, acmeEmail}}."},
	{"tls", "Encryption in transit between the services: internal (true: every server presents a certificate of the internal CA and every client verifies it), issuer {kind (Issuer or ClusterIssuer), name} (an existing cert-manager issuer to sign with; empty name: the program's own CA)."},
	{"prometheus", "Prometheus of the monitoring tier: replicas (each scrapes everything), " + resourcesFields + ", storageSize (a claim per replica), retention (a Prometheus duration such as 15d)."},
	{"alertmanager", "Alertmanager (monitoring full and comprehensive): replicas (members of one cluster), " + resourcesFields + ", storageSize (a claim per member: silences and notification state), receivers {secretName (an existing Secret with slack-url, pagerduty-routing-key, smtp-password), slackChannel, pagerduty (critical alerts page), email {to, from, smarthost, username}}."},
	{"grafana", "Grafana of the monitoring tier: " + resourcesFields + "."},
	{"network", "NetworkPolicies: every pod is denied all traffic but the flows of the README's table. entryNamespace (the entry point's pods; empty: ingress-nginx, envoy-gateway-system or nginx-gateway by edge.entry), kubernetesApi {cidrs, ports} (the API server's endpoints), nodeCidrs (kubelets, scraped by Prometheus), objectStorageCidrs (WAL-G's object store; required with postgres.walArchive.s3Bucket), prometheusNamespace (the cluster's Prometheus in monitoringMode operator)."},
	{"images", "Pinned images: postgres, postgresClient, postgresExporter, pgbouncer, redis, redisExporter, influxdb, api, worker (the API image also runs the migrations), nginx, nginxExporter, prometheus, alertmanager, grafana, kubeStateMetrics, prometheusAdapter, kubectl (the snapshot job: kubectl and a shell); pullPolicy (Always, IfNotPresent or Never: when the kubelet pulls every one of them)."},
	{"postgresSuperuserPassword", "Replaces the generated PostgreSQL superuser password (set with --secret; 16 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"postgresReplicationPassword", "Replaces the generated PostgreSQL replication password (set with --secret; 16 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"postgresAppPassword", "Replaces the generated password of the application's database user (set with --secret; 16 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"redisPassword", "Replaces the generated Redis password (set with --secret; 16 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"influxdbAdminPassword", "Replaces the generated InfluxDB admin password (set with --secret; 16 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"influxdbAdminToken", "Replaces the generated InfluxDB admin token (set with --secret; 32 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"grafanaAdminPassword", "Replaces the generated Grafana admin password (set with --secret; 16 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"apiSecretKey", "Replaces the generated signing key of the API (set with --secret; 32 to 128 letters, digits, '-', '.', '_' or '~')."},
	{"alertmanagerWebhookUrl", "Alertmanager's webhook receiver: every alert is POSTed to this http(s) URL (set with --secret; such URLs often carry a token). Empty: no webhook."},
}

// KeyTable returns every setting with its description, in Pulumi.yaml's order.
func KeyTable() []Key { return slices.Clone(keyTable) }

// Keys lists every configuration key the program reads, without the project prefix.
func Keys() []string {
	names := make([]string, len(keyTable))
	for i, k := range keyTable {
		names[i] = k.Name
	}
	return names
}

// Fields are the JSON fields an object key accepts, a nested object's as parent.child, in the
// order Settings declares them; none for a plain string key.
func (k Key) Fields() []string {
	var s Settings
	for _, o := range objectKeys(&s) {
		if o.key == k.Name {
			return fieldPaths(reflect.TypeOf(o.dst).Elem(), "")
		}
	}
	return nil
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
		name := jsonName(f)
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
