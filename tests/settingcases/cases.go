// Package settingcases holds, for every setting, values as people type them with
// `pulumi config set --path KEY VALUE`: a typical one, with the value the program then uses, and
// a bad one, with the exact message that stops the preview. Two suites read it:
//
//   - the unit suite (tests/settingcases_test.go) checks that every key and field has both, and
//     runs each through load.Parse as the CLI would store it (CLITyped);
//   - the end-to-end suite (tests/e2e/settings_cli_test.go) runs the real CLI's
//     `pulumi config set --path` for each on a copy of a stack file and parses what it wrote.
//
// A setting added without a case fails both.
package settingcases

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/platform"
)

// Case is one `pulumi config set --path Path Value` on a copy of the environment's stack file.
type Case struct {
	// Env is the stack file the setting is added to (Pulumi.<Env>.yaml); dev when empty.
	Env string
	// Before are settings made first, each as `pulumi config set --path PATH VALUE`.
	Before [][2]string
	Path   string
	Value  string
	// Secret sets the value with --secret.
	Secret bool
	// Want, for a good value, is the value at Path in the effective settings view (the stack
	// output "settings"), as JSON: "16" is text, 80 a number.
	Want string
	// Err, for a bad value, is the exact error: one "stack setting ..." line.
	Err string
}

// Environment is the stack the case starts from.
func (c Case) Environment() string {
	if c.Env == "" {
		return "dev"
	}
	return c.Env
}

// Name is how a test names the case.
func (c Case) Name() string {
	kind := "good"
	if c.Err != "" {
		kind = "bad"
	}
	return c.Path + "=" + c.Value + "/" + kind
}

const prefix = "stack setting pynomaly-platform:"

func bad(path, shown, allowed string) string { return prefix + path + " = " + shown + ": " + allowed }

func quoted(s string) string { return strconv.Quote(s) }

// Typical messages and values.
const (
	reservedNamespace = "must be a namespace of the platform's own, not default or one of Kubernetes' (kube-system, kube-public, any kube- name): " +
		"the platform's quota, limits and Pod Security labels would apply to everything else in it"
	kubeconfigFile = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
	cpuExample     = `must be a Kubernetes quantity such as "500m" or "2"`
	memoryExample  = `must be a Kubernetes quantity such as "512Mi" or "4Gi"`
	storageExample = `must be a Kubernetes quantity such as "10Gi" or "2Ti"`
	diskExample    = `must be a Kubernetes quantity such as "512Mi" or "2Gi"`
	wholeString    = "must be a whole number, not a JSON string"
	atLeastOne     = "must be at least 1"
	sloPercent     = "must be a percentage from 90 to 99.999 (at most three decimals, below 100: 100 leaves no error budget)"
	pinned         = "must be an image pinned by tag or digest (not :latest), such as redis:7.4.2-alpine"
	subjectForms   = "must be user:NAME, group:NAME or serviceaccount:NAMESPACE/NAME"
	rotationCount  = "must be 0 or more: the number of rotations so far; raise it by one to rotate"
	trustedProxies = "the entry point's pods' addresses (the Ingress controller's or the Gateway's: the cluster's pod CIDR, " +
		"or the nodes' when its load balancer forwards through them): an entry point's requests all come from them, " +
		"and without them every client would share one rate limit budget"
	objectStore = "the object store's addresses when postgres.walArchive names a store: its VPC endpoint's subnets, " +
		"or the ranges the cloud publishes for the store in its region (AWS: ip-ranges.json, service S3)"
)

// Cases are every case, in the keys table's order.
func Cases() []Case {
	var cs []Case
	add := func(c ...Case) { cs = append(cs, c...) }
	good := func(path, value, want string) Case { return Case{Path: path, Value: value, Want: want} }
	fail := func(path, value, err string) Case { return Case{Path: path, Value: value, Err: err} }

	add(good("environment", "staging", `"staging"`),
		fail("environment", "qa", bad("environment", `"qa"`, "must be one of dev, staging, prod (pulumi config set environment dev)")),
		good("namespace", "pynomaly-eu", `"pynomaly-eu"`),
		fail("namespace", "Pynomaly_DS", bad("namespace", `"Pynomaly_DS"`,
			"must be a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit")),
		fail("namespace", "kube-system", bad("namespace", `"kube-system"`, reservedNamespace)),
		fail("namespace", "default", bad("namespace", `"default"`, reservedNamespace)),
		good("security", "enforced", `"enforced"`),
		fail("security", "paranoid", bad("security", `"paranoid"`, "must be one of relaxed, enforced")),
		fail("security", "strict", bad("security", `"strict"`,
			`must be one of relaxed, enforced; strict meant the same as enforced (Pod Security "restricted" enforced, the strictest level), so set enforced`)),
		Case{Env: "staging", Path: "security", Value: "relaxed", Err: bad("security", `"relaxed"`,
			"must be enforced or stricter in staging (the staging profile's Pod Security level); relaxed is for dev")},
		good("placement", "required", `"required"`),
		fail("placement", "spread", bad("placement", `"spread"`, "must be one of preferred, required")),
		good("monitoring", "full", `"full"`),
		fail("monitoring", "verbose", bad("monitoring", `"verbose"`, "must be one of basic, full, comprehensive")),
		good("monitoringMode", "operator", `"operator"`),
		fail("monitoringMode", "prometheus", bad("monitoringMode", `"prometheus"`, "must be one of bundled, operator")),
		good("logLevel", "warning", `"warning"`),
		fail("logLevel", "verbose", bad("logLevel", `"verbose"`, "must be one of debug, info, warning, error, critical")),
	)

	// kubernetes: free text, so the bad values are the shapes a mistyped --path produces.
	add(good("kubernetes.kubeconfig", "/home/me/.kube/staging.yaml", `"/home/me/.kube/staging.yaml"`),
		// Contents carry the cluster's credentials: taken only as a secret, and never shown.
		Case{Path: "kubernetes.kubeconfig", Value: kubeconfigFile, Secret: true, Want: quoted(config.KubeconfigContents)},
		fail("kubernetes.kubeconfig", kubeconfigFile, bad("kubernetes.kubeconfig", config.KubeconfigContents,
			`kubeconfig contents carry the cluster's credentials and must be stored encrypted: pulumi config set --secret --path kubernetes.kubeconfig "$(cat FILE)"; or give the file's path`)),
		fail("kubernetes.kubeconfig.path", "/home/me/.kube/config",
			bad("kubernetes.kubeconfig", `{"path":"/home/me/.kube/config"}`, "must be a string, not a JSON object")),
		good("kubernetes.context", "staging-eu", `"staging-eu"`),
		fail("kubernetes.context[0]", "staging-eu", bad("kubernetes.context", `["staging-eu"]`, "must be a string, not a JSON array")),
		good("kubernetes.renderYamlToDirectory", "rendered/dev", `"rendered/dev"`),
		fail("kubernetes.renderYamlToDirectory.dir", "rendered", bad("kubernetes.renderYamlToDirectory", `{"dir":"rendered"}`, "must be a string, not a JSON object")),
		good("kubernetes.allowModeChange", "true", `true`),
		fail("kubernetes.allowModeChange", "yes", bad("kubernetes.allowModeChange", `"yes"`, "must be true or false, not a JSON string")),
		good("kubernetes.skipPreflight[0]", "metrics-api", `["metrics-api"]`),
		good("kubernetes.clusterIdentifier", "eu-central/prod-1", `"eu-central/prod-1"`),
		fail("kubernetes.clusterIdentifier", "prod cluster", bad("kubernetes.clusterIdentifier", `"prod cluster"`, "must be 1 to 253 letters, digits, '.', '_', ':', '/' or '-' (empty: the stack's name)")),
		fail("kubernetes.skipPreflight[0]", "metrics", bad("kubernetes.skipPreflight[0]", `"metrics"`, "must be one of all, kubernetes-version, metrics-api, external-metrics-api, external-metrics-holder, cert-manager, tls-issuer, ingress-class, gateway-api, gateway-class, storage-class, prometheus-operator, wal-archive-secret, claim-size, volume-snapshots, volume-snapshot-class, stack-collision, image-pull-secret, priority-class, workload-identity, external-secrets, secret-store")),
		good("kubernetes.cloud", "gcp", `"gcp"`),
		fail("kubernetes.cloud", "gke", bad("kubernetes.cloud", `"gke"`, "must be one of aws, gcp, azure, other")),
	)

	// Quantities typed as numbers (16) are the CLI's numbers and must be taken as quantities.
	add(good("quota.requestsCpu", "16", `"16"`),
		fail("quota.requestsCpu", "lots", bad("quota.requestsCpu", `"lots"`, cpuExample)),
		good("quota.requestsMemory", "16Gi", `"16Gi"`),
		fail("quota.requestsMemory", "16 gigs", bad("quota.requestsMemory", `"16 gigs"`, memoryExample)),
		good("quota.limitsCpu", "32", `"32"`),
		fail("quota.limitsCpu", "-8", bad("quota.limitsCpu", `"-8"`, `must be greater than zero, for example "500m" or "2"`)),
		good("quota.limitsMemory", "64Gi", `"64Gi"`),
		fail("quota.limitsMemory", "64GB", bad("quota.limitsMemory", `"64GB"`, memoryExample)),
		good("quota.requestsStorage", "1Ti", `"1Ti"`),
		fail("quota.requestsStorage", "0", bad("quota.requestsStorage", `"0"`, `must be greater than zero, for example "10Gi" or "2Ti"`)),
		good("quota.requestsEphemeralStorage", "8Gi", `"8Gi"`),
		fail("quota.requestsEphemeralStorage", "0", bad("quota.requestsEphemeralStorage", `"0"`, `must be greater than zero, for example "512Mi" or "2Gi"`)),
		good("quota.limitsEphemeralStorage", "40Gi", `"40Gi"`),
		fail("quota.limitsEphemeralStorage", "lots", bad("quota.limitsEphemeralStorage", `"lots"`, diskExample)),
		good("quota.pods", "100", `100`),
		fail("quota.pods", "many", bad("quota.pods", `"many"`, wholeString)),
		good("quota.persistentVolumeClaims", "20", `20`),
		fail("quota.persistentVolumeClaims", "2.5", bad("quota.persistentVolumeClaims", `"2.5"`, wholeString)),
	)

	add(good("limitRange.defaultRequestCpu", "100m", `"100m"`),
		fail("limitRange.defaultRequestCpu", "fast", bad("limitRange.defaultRequestCpu", `"fast"`, cpuExample)),
		good("limitRange.defaultRequestMemory", "128Mi", `"128Mi"`),
		fail("limitRange.defaultRequestMemory", "1Gi", bad("limitRange.defaultRequestMemory", `"1Gi"`, "must not exceed limitRange.defaultMemory (256Mi)")),
		good("limitRange.defaultCpu", "1", `"1"`),
		fail("limitRange.defaultCpu", "3", bad("limitRange.defaultCpu", `"3"`, "must not exceed limitRange.maxCpu (2)")),
		good("limitRange.defaultMemory", "512Mi", `"512Mi"`),
		fail("limitRange.defaultMemory", "512MB", bad("limitRange.defaultMemory", `"512MB"`, memoryExample)),
		good("limitRange.maxCpu", "4", `"4"`),
		fail("limitRange.maxCpu", "2 cores", bad("limitRange.maxCpu", `"2 cores"`, cpuExample)),
		good("limitRange.maxMemory", "8Gi", `"8Gi"`),
		fail("limitRange.maxMemory", "true", bad("limitRange.maxMemory", `"true"`, memoryExample)),
		good("limitRange.defaultRequestEphemeralStorage", "128Mi", `"128Mi"`),
		fail("limitRange.defaultRequestEphemeralStorage", "1Gi", bad("limitRange.defaultRequestEphemeralStorage", `"1Gi"`,
			"must not exceed limitRange.defaultEphemeralStorage (512Mi)")),
		good("limitRange.defaultEphemeralStorage", "1Gi", `"1Gi"`),
		fail("limitRange.defaultEphemeralStorage", "8Gi", bad("limitRange.defaultEphemeralStorage", `"8Gi"`,
			"must not exceed limitRange.maxEphemeralStorage (4Gi)")),
		good("limitRange.maxEphemeralStorage", "8Gi", `"8Gi"`),
		fail("limitRange.maxEphemeralStorage", "4 gigs", bad("limitRange.maxEphemeralStorage", `"4 gigs"`, diskExample)),
	)

	add(good("storage.existingClass", "gp3", `"gp3"`),
		fail("storage.existingClass", "GP3_fast", bad("storage.existingClass", `"GP3_fast"`, "must be the name of an existing StorageClass")),
		good("storage.className", "fast-ssd", `"fast-ssd"`),
		fail("storage.className", "Fast SSD", bad("storage.className", `"Fast SSD"`, "must be a DNS subdomain name (lowercase letters, digits, '-' and '.')")),
		good("storage.provisioner", "pd.csi.storage.gke.io", `"pd.csi.storage.gke.io"`),
		// Empty is the cloud's; other has none.
		Case{Before: [][2]string{{"kubernetes.cloud", "other"}}, Path: "storage.provisioner", Value: "",
			Err: bad("storage.provisioner", `""`, "must name a CSI driver (for example ebs.csi.aws.com or pd.csi.storage.gke.io), or set storage.existingClass")},
		good("storage.snapshots.createClass", "true", `true`),
		fail("storage.snapshots.createClass", "yes", bad("storage.snapshots.createClass", `"yes"`, "must be true or false, not a JSON string")),
		Case{Env: "prod", Path: "storage.snapshots.driver", Value: "ebs.csi.aws.com", Want: `"ebs.csi.aws.com"`},
		// Snapshots kept in another region, where the driver takes a location.
		Case{Env: "prod", Before: [][2]string{{"storage.snapshots.driver", "pd.csi.storage.gke.io"}}, Path: "storage.snapshots.location", Value: "eu", Want: `"eu"`},
		Case{Env: "prod", Before: [][2]string{{"storage.snapshots.driver", "pd.csi.storage.gke.io"}}, Path: "storage.snapshots.location", Value: "EU West",
			Err: bad("storage.snapshots.location", `"EU West"`, `must be a region or multi-region name such as "eu", "us-central1" or "westeurope"`)},
		Case{Env: "prod", Path: "storage.snapshots.location", Value: "eu-west-1", Err: bad("storage.snapshots.location", `"eu-west-1"`,
			"is taken by the drivers pd.csi.storage.gke.io (storage-locations) and disk.csi.azure.com (location) only, not by ebs.csi.aws.com; "+
				"EBS snapshots are copied to another region by AWS Backup or Data Lifecycle Manager")},
		Case{Path: "storage.snapshots.location", Value: "eu", Err: bad("storage.snapshots.location", `"eu"`,
			"is only set on the VolumeSnapshotClass the stack creates (storage.snapshots.createClass, without className); set it on your own class")},
		Case{Env: "prod", Path: "storage.snapshots.driver", Value: "EBS CSI", Err: bad("storage.snapshots.driver", `"EBS CSI"`,
			"must name the CSI driver of the snapshot class the stack creates (storage.snapshots.createClass), such as ebs.csi.aws.com; "+
				"kubernetes.cloud other presets none. Or name an existing class in storage.snapshots.className")},
		good("storage.parameters.type", "pd-ssd", `"pd-ssd"`),
		good("storage.parameters.encrypted", "true", `"true"`),
		good("storage.parameters.iops", "3000", `"3000"`),
		fail("storage.parameters.type.name", "gp3", bad("storage.parameters", `{"type":{"name":"gp3"}}`,
			"must be an object of strings (name: value); one value is a JSON object")),
		good("storage.reclaimPolicy", "Retain", `"Retain"`),
		fail("storage.reclaimPolicy", "Recycle", bad("storage.reclaimPolicy", `"Recycle"`, "must be one of Retain, Delete")),
		good("storage.backupSize", "20Gi", `"20Gi"`),
		fail("storage.backupSize", "-5Gi", bad("storage.backupSize", `"-5Gi"`, `must be greater than zero, for example "10Gi" or "2Ti"`)),
		good("storage.modelSize", "10Gi", `"10Gi"`),
		fail("storage.modelSize", "10 GiB", bad("storage.modelSize", `"10 GiB"`, storageExample)),
		good("storage.modelAccessMode", "ReadWriteMany", `"ReadWriteMany"`),
		fail("storage.modelAccessMode", "RWX", bad("storage.modelAccessMode", `"RWX"`, "must be one of ReadWriteOnce, ReadWriteOncePod, ReadWriteMany, ReadOnlyMany")),
		fail("storage.modelAccessMode", "ReadWriteOncePod", bad("storage.modelAccessMode", `"ReadWriteOncePod"`, "must let the API, workers and migrations all write the models: ReadWriteMany (pods on many nodes; name an RWX class in storage.modelClassName) or ReadWriteOnce (every pod that mounts the claim runs on one node)")),
		good("storage.modelClassName", "efs-sc", `"efs-sc"`),
		fail("storage.modelClassName", "EFS class", bad("storage.modelClassName", `"EFS class"`, "must be the name of a StorageClass")),
		good("storage.snapshots.className", "csi-aws-vsc", `"csi-aws-vsc"`),
		fail("storage.snapshots.className", "EBS snapshots", bad("storage.snapshots.className", `"EBS snapshots"`,
			"must be the name of a VolumeSnapshotClass, or empty for no snapshots")),
		good("storage.snapshots.schedule", "30 4 * * *", `"30 4 * * *"`),
		fail("storage.snapshots.schedule", "nightly", bad("storage.snapshots.schedule", `"nightly"`,
			`must be a cron schedule of five fields in UTC, such as "0 3 * * *": expected exactly 5 fields, found 1: [nightly]`)),
		good("storage.snapshots.retentionDays", "30", `30`),
		fail("storage.snapshots.retentionDays", "0", bad("storage.snapshots.retentionDays", "0", atLeastOne)),
		good("secrets.rotation.all", "1", "1"),
		fail("secrets.rotation.all", "-1", bad("secrets.rotation.all", "-1", rotationCount)),
		good("secrets.rotation.postgresApp", "2", "2"),
		fail("secrets.rotation.postgresApp", "two", bad("secrets.rotation.postgresApp", `"two"`, wholeString)),
		good("secrets.rotation.redis", "1", "1"),
		fail("secrets.rotation.redis", "-2", bad("secrets.rotation.redis", "-2", rotationCount)),
		// Credentials from a secret manager: a named store is needed once one is external, and a
		// credential is either the store's or the stack's.
		Case{Before: [][2]string{{"secrets.external.storeName", "vault"}}, Path: "secrets.source", Value: "external", Want: `"external"`},
		fail("secrets.source", "vault", bad("secrets.source", `"vault"`, "must be one of generated, external")),
		Case{Path: "secrets.source", Value: "external",
			Err: bad("secrets.external.storeName", `""`, "must name the External Secrets Operator's ClusterSecretStore the external credentials come from")},
		Case{Before: [][2]string{{"secrets.external.storeName", "vault"}}, Path: "secrets.sources.redisPassword", Value: "external", Want: `"external"`},
		Case{Before: [][2]string{{"secrets.source", "external"}, {"secrets.external.storeName", "vault"}}, Path: "secrets.sources.patroniPassword", Value: "external",
			Err: bad("secrets.sources.patroniPassword", `"external"`, "names no credential that may come from a secret manager: the entries are "+strings.Join(config.ExternalCredentials, ", "))},
		Case{Before: [][2]string{{"secrets.source", "external"}, {"secrets.external.storeName", "vault"}}, Path: "redisPassword", Value: "OperatorChosenPassword42", Secret: true,
			Err: bad("redisPassword", "[secret]", "must not be set while it is external (secrets.source or secrets.sources.redisPassword): the store holds it; remove it (pulumi config rm redisPassword)")},
		Case{Before: [][2]string{{"secrets.source", "external"}}, Path: "secrets.external.storeName", Value: "vault", Want: `"vault"`},
		Case{Before: [][2]string{{"secrets.source", "external"}, {"secrets.external.storeName", "vault"}}, Path: "secrets.external.keyPrefix",
			Value: "pynomaly/prod/", Want: `"pynomaly/prod/"`},
		Case{Before: [][2]string{{"secrets.source", "external"}, {"secrets.external.storeName", "vault"}}, Path: "secrets.external.keyPrefix",
			Value: "pynomaly prod", Err: bad("secrets.external.keyPrefix", `"pynomaly prod"`, "must be the start of the credentials' keys in the store, without spaces or #")},
		// Never read: no credential is external.
		fail("secrets.external.storeName", "vault", bad("secrets.external.storeName", `"vault"`, "must be empty while no credential is external (secrets.source, secrets.sources): nothing reads it")),
		good("secrets.external.storeKind", "SecretStore", `"SecretStore"`),
		fail("secrets.external.storeKind", "Vault", bad("secrets.external.storeKind", `"Vault"`, "must be one of ClusterSecretStore, SecretStore")),
		good("secrets.external.refreshInterval", "15m", `"15m"`),
		// Zero never refreshes: a value written to the store would never arrive.
		fail("secrets.external.refreshInterval", "0", bad("secrets.external.refreshInterval", `"0"`,
			`must be a duration from "1m" to "24h", such as "1h": how soon a value written to the store reaches its Secret (0 would never refresh it)`)),
		Case{Before: [][2]string{{"secrets.sources.postgresAppPassword", "external"}, {"secrets.external.storeName", "vault"}},
			Path: "secrets.external.keys.postgresAppPassword", Value: "db/app#password", Want: `"db/app#password"`},
		Case{Before: [][2]string{{"secrets.sources.postgresAppPassword", "external"}, {"secrets.external.storeName", "vault"}},
			Path: "secrets.external.keys.postgresAppPassword", Value: "db app", Err: bad("secrets.external.keys.postgresAppPassword", `"db app"`,
				`must be the credential's key in the store, without spaces, optionally with "#property"`)},
		// Never read: the credential is generated.
		fail("secrets.external.keys.redisPassword", "db/redis", bad("secrets.external.keys.redisPassword", `"db/redis"`,
			"must be removed, or redisPassword made external (secrets.source or secrets.sources.redisPassword): it is generated, so nothing reads this key")),
		Case{Before: [][2]string{{"secrets.source", "external"}, {"secrets.external.storeName", "vault"}}, Path: "secrets.external.property", Value: "value", Want: `"value"`},
		Case{Before: [][2]string{{"secrets.source", "external"}, {"secrets.external.storeName", "vault"}}, Path: "secrets.external.property", Value: "the value",
			Err: bad("secrets.external.property", `"the value"`, "must be the field of the store's secrets that holds the value, without spaces or #, or empty (the whole secret)")},
		// Subjects as the cluster's authenticator names them; a bare name says not what it is.
		good("access.viewers[0]", "group:data-science", `["group:data-science"]`),
		fail("access.viewers[0]", "alice", bad("access.viewers[0]", `"alice"`, subjectForms)),
		good("access.deployers[0]", "serviceaccount:ci/pulumi-deployer", `["serviceaccount:ci/pulumi-deployer"]`),
		fail("access.deployers[0]", "serviceaccount:CI/deployer", bad("access.deployers[0]", `"serviceaccount:CI/deployer"`,
			subjectForms+"; a service account's namespace and name are DNS names")),
		fail("access.deployers[0]", "group:system:authenticated", bad("access.deployers[0]", `"group:system:authenticated"`,
			"must name people, teams or CI identities: Kubernetes puts every user (or every node, or every service account) "+
				"of the cluster in that one, so the binding would grant them all")),
	)

	// The API and worker Deployments share their fields; dev's profile: API 1-2 replicas,
	// 50m/128Mi → 250m/256Mi, workers 1-2, 50m/128Mi → 500m/512Mi, the LimitRange's max 2/4Gi.
	for _, d := range []struct{ key, memLimit string }{{"api", "256Mi"}, {"worker", "512Mi"}} {
		k := d.key
		add(good(k+".minReplicas", "2", `2`),
			fail(k+".minReplicas", "0", bad(k+".minReplicas", "0", atLeastOne)),
			good(k+".maxReplicas", "3", `3`),
			fail(k+".maxReplicas", "ten", bad(k+".maxReplicas", `"ten"`, wholeString)),
			good(k+".dbPoolSize", "8", `8`),
			fail(k+".dbPoolSize", "0", bad(k+".dbPoolSize", "0", atLeastOne)),
			good(k+".targetCpuUtilization", "60", `60`),
			fail(k+".targetCpuUtilization", "150", bad(k+".targetCpuUtilization", "150", "must be a percentage of the requests, 1 to 100")),
			good(k+".targetMemoryUtilization", "75", `75`),
			fail(k+".targetMemoryUtilization", "-5", bad(k+".targetMemoryUtilization", "-5", "must be a percentage of the requests, 1 to 100")),
		)
		add(resources(k, d.memLimit, "2", "4Gi")...)
	}
	add(good("worker.taskTimeoutSeconds", "600", `600`),
		fail("worker.taskTimeoutSeconds", "10", bad("worker.taskTimeoutSeconds", "10", "must be at least 30: the time a stopping worker gets to finish its tasks")),
		good("worker.concurrency", "8", `8`),
		fail("worker.concurrency", "0", bad("worker.concurrency", "0", atLeastOne)),
		good("worker.queueScaling.enabled", "true", `true`),
		fail("worker.queueScaling.enabled", "yes", bad("worker.queueScaling.enabled", `"yes"`, "must be true or false, not a JSON string")),
		good("worker.queueScaling.metricName", "celery_queue_length", `"celery_queue_length"`),
		Case{Before: [][2]string{{"worker.queueScaling.enabled", "true"}}, Path: "worker.queueScaling.metricName", Value: "queue depth!",
			Err: bad("worker.queueScaling.metricName", `"queue depth!"`, "must be the name of a metric the external metrics adapter serves")},
		good("worker.queueScaling.targetPerPod", "50", `50`),
		Case{Before: [][2]string{{"worker.queueScaling.enabled", "true"}}, Path: "worker.queueScaling.targetPerPod", Value: "0",
			Err: bad("worker.queueScaling.targetPerPod", "0", atLeastOne)},
	)

	// PostgreSQL in dev: 1 replica, 100m/256Mi → 500m/1Gi, max_connections 100, one pooler pod
	// of 50 server connections.
	add(good("postgres.replicas", "2", `2`),
		fail("postgres.replicas", "0", bad("postgres.replicas", "0", atLeastOne)))
	add(resources("postgres", "1Gi", "2", "4Gi")...)
	// WAL archiving reaches its store through a NetworkPolicy: the store's addresses come first.
	store := [2]string{"network.objectStorageCidrs[0]", "203.0.113.0/24"}
	add(good("postgres.storageSize", "20Gi", `"20Gi"`),
		fail("postgres.storageSize", "lots", bad("postgres.storageSize", `"lots"`, storageExample)),
		good("postgres.maxConnections", "150", `150`),
		fail("postgres.maxConnections", "30", bad("postgres.maxConnections", "30", "must be at least 40")),
		fail("postgres.maxConnections", "many", bad("postgres.maxConnections", `"many"`, wholeString)),
		good("postgres.synchronousMode", "false", `false`),
		fail("postgres.synchronousMode", "yes", bad("postgres.synchronousMode", `"yes"`, "must be true or false, not a JSON string")),
		good("postgres.backup.schedule", "30 3 * * 0", `"30 3 * * 0"`),
		good("postgres.backup.schedule", "@daily", `"@daily"`),
		good("postgres.backup.schedule", "0 0 29 2 *", `"0 0 29 2 *"`), // leap days: it fires
		fail("postgres.backup.schedule", "0 0 31 2 *", bad("postgres.backup.schedule", `"0 0 31 2 *"`,
			`must be a cron schedule of five fields (minute hour day-of-month month day-of-week) or a descriptor, such as "0 2 * * *" or "@daily": it never fires: no date has that day of the month in those months`)),
		fail("postgres.backup.schedule", "99 99 * * *", bad("postgres.backup.schedule", `"99 99 * * *"`,
			`must be a cron schedule of five fields (minute hour day-of-month month day-of-week) or a descriptor, such as "0 2 * * *" or "@daily": end of range (99) above maximum (59): 99`)),
		good("postgres.backup.timeZone", "Europe/Berlin", `"Europe/Berlin"`),
		fail("postgres.backup.timeZone", "Mars/Olympus", bad("postgres.backup.timeZone", `"Mars/Olympus"`,
			`must be an IANA time zone such as "Etc/UTC" or "Europe/Berlin": unknown time zone Mars/Olympus`)),
		good("postgres.backup.retentionDays", "7", `7`),
		fail("postgres.backup.retentionDays", "0", bad("postgres.backup.retentionDays", "0", atLeastOne)),
		good("postgres.backup.deadlineSeconds", "3600", `3600`),
		fail("postgres.backup.deadlineSeconds", "30", bad("postgres.backup.deadlineSeconds", "30", "must be at least 60")),
		Case{Before: [][2]string{store}, Path: "postgres.walArchive.s3Bucket", Value: "pynomaly-wal", Want: `"pynomaly-wal"`},
		Case{Before: [][2]string{store}, Path: "postgres.walArchive.s3Bucket", Value: "My Bucket", Err: bad("postgres.walArchive.s3Bucket", `"My Bucket"`,
			"must be an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit")},
		good("postgres.walArchive.region", "eu-central-1", `"eu-central-1"`),
		fail("postgres.walArchive.region", "EU Central", bad("postgres.walArchive.region", `"EU Central"`, "must be a region name such as eu-central-1")),
		good("postgres.walArchive.endpoint", "https://minio.example:9000", `"https://minio.example:9000"`),
		fail("postgres.walArchive.endpoint", "https://wal:s3cr3t-key@minio.example:9000", bad("postgres.walArchive.endpoint", "[not shown]",
			"must not carry a user or password (user:password@): the URL is in the pods' environment and the stack's settings; "+
				"name a Secret with the store's keys in postgres.walArchive.credentialsSecret")),
		fail("postgres.walArchive.endpoint", "minio:9000", bad("postgres.walArchive.endpoint", `"minio:9000"`,
			"must be the http:// or https:// URL of an S3-compatible store, such as https://minio.example:9000; empty for AWS")),
		good("postgres.walArchive.credentialsSecret", "wal-g-s3", `"wal-g-s3"`),
		fail("postgres.walArchive.credentialsSecret", "WAL G", bad("postgres.walArchive.credentialsSecret", `"WAL G"`,
			"must be the name of a Secret in the namespace (lowercase letters, digits, '-' and '.')")),
		good("postgres.walArchive.timeoutSeconds", "120", `120`),
		Case{Before: [][2]string{store, {"postgres.walArchive.s3Bucket", "pynomaly-wal"}}, Path: "postgres.walArchive.timeoutSeconds", Value: "600",
			Err: bad("postgres.walArchive.timeoutSeconds", "600", "must be 60 to 300: a WAL segment is shipped at least this often, which bounds the recovery point (the seed's: 15 minutes)")},
		good("postgres.walArchive.baseBackupSchedule", "0 */6 * * *", `"0 */6 * * *"`),
		fail("postgres.walArchive.baseBackupSchedule", "daily", bad("postgres.walArchive.baseBackupSchedule", `"daily"`,
			`must be a cron schedule of five fields in UTC, such as "0 1 * * *": expected exactly 5 fields, found 1: [daily]`)),
		good("postgres.walArchive.retentionDays", "30", `30`),
		fail("postgres.walArchive.retentionDays", "1", bad("postgres.walArchive.retentionDays", "1", "must be at least 2 (Spilo keeps two base backups whatever it is told)")),
		// The other clouds' stores, one at a time; S3's region and prod's IAM role mean nothing to
		// them.
		Case{Env: "prod", Before: [][2]string{{"postgres.walArchive.s3Bucket", ""}, {"postgres.walArchive.region", ""}, {"identity.objectStorage", ""}},
			Path: "postgres.walArchive.gcsBucket", Value: "pynomaly_wal", Want: `"pynomaly_wal"`},
		Case{Env: "prod", Path: "postgres.walArchive.gcsBucket", Value: "pynomaly-wal", Err: bad("postgres.walArchive.gcsBucket", `"pynomaly-wal"`,
			"must be empty while postgres.walArchive.s3Bucket is set: WAL is archived to one store")},
		Case{Before: [][2]string{store}, Path: "postgres.walArchive.gcsBucket", Value: "Pynomaly WAL", Err: bad("postgres.walArchive.gcsBucket", `"Pynomaly WAL"`,
			"must be a Cloud Storage bucket name: 3 to 63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit")},
		Case{Before: [][2]string{store, {"postgres.walArchive.azureStorageAccount", "pynomalydev"}},
			Path: "postgres.walArchive.azureContainer", Value: "pynomaly-wal", Want: `"pynomaly-wal"`},
		Case{Before: [][2]string{store, {"postgres.walArchive.azureStorageAccount", "pynomalydev"}},
			Path: "postgres.walArchive.azureContainer", Value: "wal--archive", Err: bad("postgres.walArchive.azureContainer", `"wal--archive"`,
				"must be an Azure Blob container name: 3 to 63 lowercase letters, digits and single '-', starting with a letter or digit")},
		Case{Before: [][2]string{store, {"postgres.walArchive.azureContainer", "pynomaly-wal"}},
			Path: "postgres.walArchive.azureStorageAccount", Value: "pynomalydev", Want: `"pynomalydev"`},
		Case{Before: [][2]string{store, {"postgres.walArchive.azureContainer", "pynomaly-wal"}},
			Path: "postgres.walArchive.azureStorageAccount", Value: "pynomaly-dev", Err: bad("postgres.walArchive.azureStorageAccount", `"pynomaly-dev"`,
				"must be the storage account of postgres.walArchive.azureContainer: 3 to 24 lowercase letters and digits")},
		// Prod cannot run without an archive (its stack file names one).
		Case{Env: "prod", Path: "postgres.walArchive.s3Bucket", Value: "", Err: bad("postgres.walArchive.s3Bucket", `""`,
			"must name the bucket WAL is archived to in prod (the seed's recovery point of 15 minutes needs continuous archiving; the nightly dump alone loses up to a day), with network.objectStorageCidrs")},
		// Prod's stack file names its archive; a restore reads it.
		Case{Env: "prod", Path: "postgres.restore.targetTime", Value: "2026-11-25T14:30:00Z", Want: `"2026-11-25T14:30:00Z"`},
		Case{Env: "prod", Path: "postgres.restore.targetTime", Value: "yesterday 14:30", Err: bad("postgres.restore.targetTime", `"yesterday 14:30"`,
			`must be an RFC 3339 time with its zone, such as "2026-11-25T14:30:00Z", "latest" (everything archived), or empty for no restore`)},
		Case{Env: "prod", Path: "postgres.restore.fromNamespace", Value: "pynomaly-eu", Want: `"pynomaly-eu"`},
		Case{Env: "prod", Path: "postgres.restore.fromNamespace", Value: "Pynomaly EU", Err: bad("postgres.restore.fromNamespace", `"Pynomaly EU"`,
			"must be a namespace name (a DNS label), or empty for this stack's own")},
	)
	standbyCases(add)

	// The pooler in dev: 1 pod, 50 server connections, 200 clients; 25m/32Mi → 100m/64Mi.
	add(Case{Before: [][2]string{{"postgres.maxConnections", "200"}}, Path: "pooler.replicas", Value: "2", Want: `2`},
		fail("pooler.replicas", "0", bad("pooler.replicas", "0", atLeastOne)),
		good("pooler.poolSize", "30", `30`),
		fail("pooler.poolSize", "200", bad("pooler.poolSize", "200",
			"pooler.replicas (1) x pooler.poolSize + 20 reserved = 220 exceeds postgres.maxConnections (100); at most 80")),
		good("pooler.maxClientConnections", "300", `300`),
		fail("pooler.maxClientConnections", "5", bad("pooler.maxClientConnections", "5",
			"api.maxReplicas (2) x api.dbPoolSize (5) + worker.maxReplicas (2) x worker.dbPoolSize (5) = 20 clients exceed pooler.replicas (1) x pooler.maxClientConnections = 5; at least 20")),
	)
	add(resources("pooler", "64Mi", "2", "4Gi")...)

	for _, r := range []struct{ key, memLimit string }{{"redisQueue", "256Mi"}, {"redisCache", "320Mi"}} {
		add(good(r.key+".replicas", "3", `3`),
			fail(r.key+".replicas", "0", bad(r.key+".replicas", "0", atLeastOne)),
			fail(r.key+".replicas", "2", bad(r.key+".replicas", "2", "must be 1, or 3 or more: each pod runs a Sentinel, "+
				"a failover needs a majority of them, and a lost pod takes its Sentinel along, so two pods could never fail over")))
		add(resources(r.key, r.memLimit, "2", "4Gi")...)
	}
	add(good("redisQueue.storageSize", "2Gi", `"2Gi"`),
		fail("redisQueue.storageSize", "", bad("redisQueue.storageSize", `""`, storageExample)),
		good("redisCache.storageSize", "1Gi", `"1Gi"`),
		fail("redisCache.storageSize", "big", bad("redisCache.storageSize", `"big"`, storageExample)),
	)

	add(good("influxdb.replicas", "1", `1`),
		fail("influxdb.replicas", "2", bad("influxdb.replicas", "2", "must be 1: InfluxDB OSS does not cluster, more replicas would be separate databases")))
	add(resources("influxdb", "512Mi", "2", "4Gi")...)
	add(good("influxdb.storageSize", "10Gi", `"10Gi"`),
		fail("influxdb.storageSize", "-1", bad("influxdb.storageSize", `"-1"`, `must be greater than zero, for example "10Gi" or "2Ti"`)),
		good("influxdb.retention", "90d", `"90d"`),
		fail("influxdb.retention", "a month", bad("influxdb.retention", `"a month"`, `must be an InfluxDB duration such as "30d" or "1h"`)),
		fail("influxdb.retention", "1ns", bad("influxdb.retention", `"1ns"`,
			`must be an InfluxDB duration such as "30d" or "1h" of at least 1h: InfluxDB keeps data no shorter (and 0 would keep it forever)`)),
		good("influxdb.longTermRetention", "730d", `"730d"`),
		fail("influxdb.longTermRetention", "forever", bad("influxdb.longTermRetention", `"forever"`, `must be an InfluxDB duration such as "30d" or "1h"`)),
		fail("influxdb.longTermRetention", "7d", bad("influxdb.longTermRetention", `"7d"`,
			"must be at least influxdb.retention (30d): the long-term bucket keeps the averages longer than the data they summarize")),
		good("influxdb.downsampleEvery", "30m", `"30m"`),
		fail("influxdb.downsampleEvery", "31d", bad("influxdb.downsampleEvery", `"31d"`,
			"must be from 1m to influxdb.retention (30d): the task must run before the data it averages has expired")),
		good("influxdb.backup.schedule", "0 5 * * *", `"0 5 * * *"`),
		fail("influxdb.backup.schedule", "5am", bad("influxdb.backup.schedule", `"5am"`,
			`must be a cron schedule of five fields in UTC, such as "30 4 * * *": expected exactly 5 fields, found 1: [5am]`)),
		good("influxdb.backup.retentionDays", "30", `30`),
		fail("influxdb.backup.retentionDays", "0", bad("influxdb.backup.retentionDays", "0", atLeastOne)),
		fail("influxdb.downsampleEvery", "hourly", bad("influxdb.downsampleEvery", `"hourly"`, `must be an InfluxDB duration such as "30d" or "1h"`)),
	)

	// The edge in dev: 1 pod, 50m/64Mi → 250m/128Mi, 1 worker of 1024 connections for 200
	// requests at once, no entry point. What only an entry point or TLS uses is checked with one.
	host := [2]string{"edge.hosts[0]", "api.example.com"}
	exposed := [][2]string{host, {"edge.trustedProxies[0]", "10.244.0.0/16"}, {"edge.entry", "gateway"}}
	add(good("edge.replicas", "2", `2`),
		fail("edge.replicas", "0", bad("edge.replicas", "0", atLeastOne)))
	add(resources("edge", "128Mi", "2", "4Gi")...)
	add(Case{Before: [][2]string{host, {"edge.trustedProxies[0]", "10.244.0.0/16"}}, Path: "edge.entry", Value: "gateway", Want: `"gateway"`},
		fail("edge.entry", "loadbalancer", bad("edge.entry", `"loadbalancer"`, "must be one of ingress, gateway, none")),
		Case{Before: [][2]string{{"edge.trustedProxies[0]", "10.244.0.0/16"}}, Path: "edge.entry", Value: "ingress",
			Err: bad("edge.hosts", "[]", "must name at least one host when edge.entry is ingress")},
		Case{Before: [][2]string{{"edge.hosts[0]", "api.example.com"}}, Path: "edge.entry", Value: "gateway",
			Err: bad("edge.trustedProxies", "[]", "must name "+trustedProxies)},
		good("edge.hosts[0]", "api.example.com", `["api.example.com"]`),
		fail("edge.hosts[0]", "API Example", bad("edge.hosts[0]", `"API Example"`, "must be a lowercase DNS name such as api.example.com (or *.example.com)")),
		good("edge.rateLimit.requestsPerMinute", "600", `600`),
		fail("edge.rateLimit.requestsPerMinute", "0", bad("edge.rateLimit.requestsPerMinute", "0", "must be at least 1 (the seed: 100)")),
		good("edge.rateLimit.burst", "50", `50`),
		fail("edge.rateLimit.burst", "-1", bad("edge.rateLimit.burst", "-1", "must be 0 or more: the requests a client may send at once beyond the rate")),
		good("edge.trustedProxies[0]", "10.42.0.0/16", `["10.42.0.0/16"]`),
		fail("edge.trustedProxies[0]", "0.0.0.0/0", bad("edge.trustedProxies[0]", `"0.0.0.0/0"`, "must not match every address: name "+trustedProxies)),
		good("edge.clientMaxBodySize", "10m", `"10m"`),
		fail("edge.clientMaxBodySize", "10MB", bad("edge.clientMaxBodySize", `"10MB"`, `must be an nginx size such as "100m", "512k" or "1g"`)),
		fail("edge.clientMaxBodySize", "0", bad("edge.clientMaxBodySize", `"0"`, `must be more than 0, such as "100m": nginx reads 0 as no limit at all`)),
		good("edge.timeouts.connectSeconds", "10", `10`),
		fail("edge.timeouts.connectSeconds", "0", bad("edge.timeouts.connectSeconds", "0", atLeastOne)),
		good("edge.timeouts.readSeconds", "300", `300`),
		fail("edge.timeouts.readSeconds", "slow", bad("edge.timeouts.readSeconds", `"slow"`, wholeString)),
		good("edge.timeouts.sendSeconds", "120", `120`),
		fail("edge.timeouts.sendSeconds", "-5", bad("edge.timeouts.sendSeconds", "-5", atLeastOne)),
		good("edge.concurrentRequests", "400", `400`),
		fail("edge.concurrentRequests", "5000", bad("edge.workerConnections", "1024",
			"edge.replicas (1) x edge.workerProcesses (1) x edge.workerConnections / 2 (a client and an API connection per request) = 512 requests at once, fewer than edge.concurrentRequests (5000); at least 10000")),
		good("edge.workerProcesses", "2", `2`),
		fail("edge.workerProcesses", "0", bad("edge.workerProcesses", "0", atLeastOne)),
		good("edge.workerConnections", "4096", `4096`),
		fail("edge.workerConnections", "256", bad("edge.workerConnections", "256",
			"edge.replicas (1) x edge.workerProcesses (1) x edge.workerConnections / 2 (a client and an API connection per request) = 128 requests at once, fewer than edge.concurrentRequests (200); at least 400")),
		good("edge.ingress.className", "traefik", `"traefik"`),
		Case{Before: [][2]string{host, {"edge.trustedProxies[0]", "10.244.0.0/16"}, {"edge.entry", "ingress"}}, Path: "edge.ingress.className", Value: "Traefik Public",
			Err: bad("edge.ingress.className", `"Traefik Public"`, "must name the cluster's IngressClass (a DNS subdomain name)")},
		good("edge.gateway.className", "nginx", `"nginx"`),
		Case{Before: exposed, Path: "edge.gateway.className", Value: "Envoy GW",
			Err: bad("edge.gateway.className", `"Envoy GW"`, "must name the cluster's GatewayClass (a DNS subdomain name)")},
		good("edge.gateway.implementation", "nginx-gateway-fabric", `"nginx-gateway-fabric"`),
		Case{Before: exposed, Path: "edge.gateway.implementation", Value: "istio",
			Err: bad("edge.gateway.implementation", `"istio"`, "must be one of envoy-gateway, nginx-gateway-fabric")},
		good("edge.tls.enabled", "false", `false`),
		fail("edge.tls.enabled", "yes", bad("edge.tls.enabled", `"yes"`, "must be true or false, not a JSON string")),
		good("edge.tls.secretName", "api-tls", `"api-tls"`),
		Case{Before: exposed, Path: "edge.tls.secretName", Value: "API TLS",
			Err: bad("edge.tls.secretName", `"API TLS"`, "must be a Secret name (a DNS subdomain name)")},
		Case{Before: [][2]string{{"edge.tls.issuer.create", ""}}, Path: "edge.tls.issuer.kind", Value: "ClusterIssuer", Want: `"ClusterIssuer"`},
		Case{Before: exposed, Path: "edge.tls.issuer.kind", Value: "CA",
			Err: bad("edge.tls.issuer.kind", `"CA"`, "must be one of Issuer, ClusterIssuer")},
		good("edge.tls.issuer.name", "letsencrypt-prod", `"letsencrypt-prod"`),
		Case{Before: exposed, Path: "edge.tls.issuer.name", Value: "Lets Encrypt",
			Err: bad("edge.tls.issuer.name", `"Lets Encrypt"`, "must name a cert-manager Issuer or ClusterIssuer")},
		Case{Env: "staging", Before: exposed, Path: "edge.tls.issuer.create", Value: "selfSigned", Want: `"selfSigned"`},
		Case{Before: exposed, Path: "edge.tls.issuer.create", Value: "letsencrypt",
			Err: bad("edge.tls.issuer.create", `"letsencrypt"`, "must be empty (use an existing issuer), selfSigned or acme")},
		Case{Env: "staging", Before: exposed, Path: "edge.tls.issuer.acmeServer", Value: "https://acme.zerossl.com/v2/DV90", Want: `"https://acme.zerossl.com/v2/DV90"`},
		Case{Env: "staging", Before: exposed, Path: "edge.tls.issuer.acmeServer", Value: "acme.example",
			Err: bad("edge.tls.issuer.acmeServer", `"acme.example"`, "must be the https URL of an ACME directory, such as https://acme-v02.api.letsencrypt.org/directory")},
		Case{Env: "staging", Before: exposed, Path: "edge.tls.issuer.acmeEmail", Value: "ops@example.com", Want: `"ops@example.com"`},
		Case{Env: "staging", Before: exposed, Path: "edge.tls.issuer.acmeEmail", Value: "ops",
			Err: bad("edge.tls.issuer.acmeEmail", `"ops"`, "must be an email address, or empty")},
	)

	// Internal TLS: off in dev, on from staging; the program's own CA unless an issuer is named.
	add(
		good("tls.internal", "true", `true`),
		fail("tls.internal", "on", bad("tls.internal", `"on"`, "must be true or false, not a JSON string")),
		Case{Env: "prod", Path: "tls.internal", Value: "false", Err: bad("tls.internal", "false",
			"must be true in prod: every connection between the services is encrypted and verified there (the seed); false is for dev and for staging")},
		Case{Env: "staging", Path: "tls.issuer.kind", Value: "ClusterIssuer", Want: `"ClusterIssuer"`},
		Case{Env: "staging", Path: "tls.issuer.kind", Value: "CA",
			Err: bad("tls.issuer.kind", `"CA"`, "must be one of Issuer, ClusterIssuer")},
		Case{Env: "prod", Path: "tls.issuer.name", Value: "corp-ca", Want: `"corp-ca"`},
		Case{Env: "prod", Path: "tls.issuer.name", Value: "Corp CA",
			Err: bad("tls.issuer.name", `"Corp CA"`, "must name an existing cert-manager Issuer or ClusterIssuer, or be empty (the program's own CA)")},
	)

	// Centralized logs: off in dev, bundled from staging on; the collector ships to an external
	// store only where logging.mode says so, and only over TLS unless the store is a Service.
	external := [2]string{"logging.mode", "external"}
	add(
		good("logging.mode", "bundled", `"bundled"`),
		fail("logging.mode", "loki", bad("logging.mode", `"loki"`, "must be one of off, bundled, external")),
		Case{Env: "staging", Path: "logging.retention", Value: "4w", Want: `"4w"`},
		// Less than a day: the store keeps whole days all the same.
		Case{Env: "staging", Path: "logging.retention", Value: "12h",
			Err: bad("logging.retention", `"12h"`, `must be whole days, weeks or years, such as "14d", "4w" or "1y"`)},
		Case{Env: "prod", Path: "logging.storageSize", Value: "40 GB", Err: bad("logging.storageSize", `"40 GB"`, storageExample)},
		Case{Before: [][2]string{external, {"logging.external.protocol", "otlp"}}, Path: "logging.external.endpoint",
			Value: "https://logs.example.com:4318", Want: `"https://logs.example.com:4318"`},
		Case{Before: [][2]string{external, {"logging.external.protocol", "loki"}}, Path: "logging.external.endpoint",
			Value: "http://loki-gateway.logging.svc.cluster.local", Want: `"http://loki-gateway.logging.svc.cluster.local"`},
		// Plain text across networks: log lines can carry personal data.
		Case{Before: [][2]string{external, {"logging.external.protocol", "otlp"}}, Path: "logging.external.endpoint", Value: "http://logs.example.com",
			Err: bad("logging.external.endpoint", `"http://logs.example.com"`, "must be the log store's https:// URL (http:// only to a Service of the cluster, "+
				"*.svc or *.svc.cluster.local: log lines can carry personal data), without query or credentials")},
		Case{Before: [][2]string{external, {"logging.external.endpoint", "https://logs.example.com"}}, Path: "logging.external.protocol", Value: "elasticsearch",
			Err: bad("logging.external.protocol", `"elasticsearch"`, "must be one of otlp, loki")},
		// Never read: the store is the bundled one.
		Case{Env: "staging", Path: "logging.external.endpoint", Value: "https://logs.example.com",
			Err: bad("logging.external.endpoint", `"https://logs.example.com"`, `must be empty unless logging.mode is external (it is "bundled"): nothing reads it`)},
		Case{Before: [][2]string{external, {"logging.external.protocol", "otlp"}, {"logging.external.endpoint", "https://logs.example.com"}},
			Path: "logging.external.secretName", Value: "Log Token",
			Err: bad("logging.external.secretName", `"Log Token"`, "must name a Secret of the node agents' namespace holding the Authorization header's value under authorization, or be empty (no header)")},
		// The node agents' namespace is the platform's with -node: 63 characters at most.
		Case{Env: "staging", Path: "namespace", Value: strings.Repeat("p", 60),
			Err: bad("namespace", `"`+strings.Repeat("p", 60)+`"`, `must be at most 58 characters where node agents run (logging or prometheus.nodeExporter): their namespace is "`+
				strings.Repeat("p", 60)+`-node", and a namespace name has at most 63`)},
		Case{Env: "prod", Path: "prometheus.nodeExporter.enabled", Value: "false", Want: `false`},
		fail("prometheus.nodeExporter.enabled", "yes", bad("prometheus.nodeExporter.enabled", `"yes"`, "must be true or false, not a JSON string")),
		good("logging.storageSize", "10Gi", `"10Gi"`),
		Case{Before: [][2]string{external, {"logging.external.endpoint", "https://logs.example.com"}}, Path: "logging.external.protocol", Value: "loki", Want: `"loki"`},
		Case{Before: [][2]string{external, {"logging.external.protocol", "otlp"}, {"logging.external.endpoint", "https://logs.example.com"}},
			Path: "logging.external.secretName", Value: "log-store-token", Want: `"log-store-token"`},
	)
	add(resources("logging", "512Mi", "2", "4Gi")...)
	add(agentResources("logging.collectorResources", "256Mi")...)
	add(agentResources("prometheus.nodeExporter.resources", "128Mi")...)

	// The monitoring tier in dev: Prometheus 1 replica, 100m/256Mi → 500m/1Gi, 5Gi, 3 days;
	// Alertmanager (not run at basic, checked all the same) 25m/32Mi → 100m/64Mi; Grafana
	// 50m/128Mi → 250m/256Mi.
	add(good("prometheus.replicas", "2", `2`),
		fail("prometheus.replicas", "0", bad("prometheus.replicas", "0", atLeastOne)))
	add(resources("prometheus", "1Gi", "2", "4Gi")...)
	add(good("prometheus.storageSize", "20Gi", `"20Gi"`),
		fail("prometheus.storageSize", "20 GB", bad("prometheus.storageSize", `"20 GB"`, storageExample)),
		good("prometheus.retention", "15d", `"15d"`),
		good("slo.availability", "99.95", `"99.95"`),
		good("slo.latencyThreshold", "0.25", `"0.25"`),
		good("slo.latencyTarget", "99.5", `"99.5"`),
		// No budget: one failed request would page.
		fail("slo.availability", "100", bad("slo.availability", `"100"`, sloPercent)),
		fail("slo.availability", "99.9%", bad("slo.availability", `"99.9%"`, sloPercent)),
		fail("slo.latencyTarget", "50", bad("slo.latencyTarget", `"50"`, sloPercent)),
		// Not a bucket of the API's histogram: the share within it would be interpolated.
		fail("slo.latencyThreshold", "0.3", bad("slo.latencyThreshold", `"0.3"`,
			"must be one of the API histogram's buckets the application contract requires: 0.1, 0.25, 0.5, 1, 2.5, 5 (seconds)")),
		fail("prometheus.retention", "2 weeks", bad("prometheus.retention", `"2 weeks"`, `must be a Prometheus duration such as "15d" or "12h"`)),
		good("alertmanager.replicas", "3", `3`),
		fail("alertmanager.replicas", "0", bad("alertmanager.replicas", "0", atLeastOne)),
		good("alertmanager.storageSize", "2Gi", `"2Gi"`),
		fail("alertmanager.storageSize", "", bad("alertmanager.storageSize", `""`, storageExample)),
	)
	add(resources("alertmanager", "64Mi", "2", "4Gi")...)
	// Receivers: a receiver needs the Secret that holds its URL or key; e-mail needs its sender
	// and server.
	const rk = "alertmanager.receivers."
	secret := [2]string{rk + "secretName", "alert-receivers"}
	mail := [][2]string{secret, {rk + "email.to", "ops@example.com"}, {rk + "email.from", "alertmanager@example.com"}, {rk + "email.smarthost", "smtp.example.com:587"}}
	without := func(drop string) [][2]string {
		var out [][2]string
		for _, m := range mail {
			if m[0] != drop {
				out = append(out, m)
			}
		}
		return out
	}
	add(good(rk+"secretName", "alert-receivers", `"alert-receivers"`),
		Case{Before: [][2]string{{rk + "slackChannel", "#alerts"}}, Path: rk + "secretName", Value: "Alert Receivers",
			Err: bad(rk+"secretName", `"Alert Receivers"`, "must name the Secret in the namespace that holds the receivers' slack-url, pagerduty-routing-key and smtp-password (those in use)")},
		Case{Before: [][2]string{secret}, Path: rk + "slackChannel", Value: "#alerts", Want: `"#alerts"`},
		Case{Before: [][2]string{secret}, Path: rk + "slackChannel", Value: "alerts",
			Err: bad(rk+"slackChannel", `"alerts"`, "must be a Slack channel such as #alerts (or @user), or empty")},
		Case{Before: [][2]string{secret}, Path: rk + "pagerduty", Value: "true", Want: `true`},
		fail(rk+"pagerduty", "yes", bad(rk+"pagerduty", `"yes"`, "must be true or false, not a JSON string")),
		Case{Before: without(rk + "email.to"), Path: rk + "email.to", Value: "ops@example.com", Want: `"ops@example.com"`},
		Case{Before: without(rk + "email.to"), Path: rk + "email.to", Value: "ops",
			Err: bad(rk+"email.to", `"ops"`, "must be an email address, or empty (no e-mail)")},
		good(rk+"email.from", "alertmanager@example.com", `"alertmanager@example.com"`),
		Case{Before: without(rk + "email.from"), Path: rk + "email.from", Value: "alertmanager",
			Err: bad(rk+"email.from", `"alertmanager"`, "must be the sender's email address")},
		good(rk+"email.smarthost", "smtp.example.com:587", `"smtp.example.com:587"`),
		Case{Before: without(rk + "email.smarthost"), Path: rk + "email.smarthost", Value: "smtp.example.com",
			Err: bad(rk+"email.smarthost", `"smtp.example.com"`, "must be host:port of an SMTP server, such as smtp.example.com:587")},
		good(rk+"email.username", "alertmanager", `"alertmanager"`),
		Case{Before: mail, Path: rk + "email.username", Value: "alert manager",
			Err: bad(rk+"email.username", `"alert manager"`, "must be an SMTP user name without spaces, or empty (no login)")},
	)
	add(resources("grafana", "256Mi", "2", "4Gi")...)
	// Grafana's public host: through the entry point, to the Grafana the program runs.
	const grafanaHost = "grafana.example.com"
	add(Case{Before: exposed, Path: "grafana.host", Value: grafanaHost, Want: quoted(grafanaHost)},
		fail("grafana.host", "Grafana", bad("grafana.host", `"Grafana"`,
			"must be a lowercase DNS name such as grafana.example.com (not a wildcard), or empty: Grafana stays inside the cluster")),
		Case{Before: exposed, Path: "grafana.host", Value: "api.example.com", Err: bad("grafana.host", `"api.example.com"`,
			"must differ from every edge.hosts: the entry point and Nginx tell Grafana from the API by its host")},
		Case{Before: [][2]string{host, {"edge.trustedProxies[0]", "10.244.0.0/16"}, {"edge.entry", "gateway"}, {"monitoringMode", "operator"}}, Path: "grafana.host", Value: grafanaHost, Err: bad("grafana.host", quoted(grafanaHost),
			"must be empty with monitoringMode operator: the program runs no Grafana then; expose the cluster's own where it is installed")},
		fail("grafana.host", grafanaHost, bad("grafana.host", quoted(grafanaHost),
			"needs an entry point (edge.entry ingress or gateway): with entry none nothing reaches Grafana from outside; "+
				"leave it empty to keep Grafana inside the cluster (kubectl port-forward)")),
	)

	// The network's peers in dev: the private ranges, API server ports 443 and 6443, no entry
	// point (so no entry namespace), Prometheus Operator's namespace "monitoring".
	add(Case{Before: [][2]string{host, {"edge.trustedProxies[0]", "10.244.0.0/16"}, {"edge.entry", "ingress"}}, Path: "network.entryNamespace", Value: "traefik", Want: `"traefik"`},
		Case{Before: [][2]string{host, {"edge.trustedProxies[0]", "10.244.0.0/16"}, {"edge.entry", "gateway"}}, Path: "network.entryNamespace", Value: "pynomaly-data-science",
			Err: bad("network.entryNamespace", `"pynomaly-data-science"`, "must not be the platform's own namespace: its default deny would hold the entry point's pods too; run them in a namespace of their own")},
		fail("network.entryNamespace", "Ingress NGINX", bad("network.entryNamespace", `"Ingress NGINX"`, "must be a namespace name (a DNS label), or empty for edge.entry's usual one")),
		good("network.kubernetesApi.cidrs[0]", "172.20.0.1/32", `["172.20.0.1/32"]`),
		fail("network.kubernetesApi.cidrs[0]", "0.0.0.0/0", bad("network.kubernetesApi.cidrs[0]", `"0.0.0.0/0"`,
			"must not match every address: name the API server's endpoint addresses (kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes)")),
		good("network.kubernetesApi.ports[0]", "6443", `[6443]`),
		fail("network.kubernetesApi.ports[0]", "70000", bad("network.kubernetesApi.ports[0]", "70000", "must be a port number, 1 to 65535")),
		good("network.nodeCidrs[0]", "10.10.0.0/16", `["10.10.0.0/16"]`),
		fail("network.nodeCidrs[0]", "10.10.0.0", bad("network.nodeCidrs[0]", `"10.10.0.0"`, `must be a CIDR such as "10.0.0.0/16" or "fd00::/64"`)),
		good("network.objectStorageCidrs[0]", "52.219.168.0/24", `["52.219.168.0/24"]`),
		good("network.grafanaPluginCidrs[0]", "34.120.177.193/32", `["34.120.177.193/32"]`),
		fail("network.grafanaPluginCidrs[0]", "::/0", bad("network.grafanaPluginCidrs[0]", `"::/0"`,
			"must not match every address: name the addresses Grafana downloads its logs datasource's plugin from")),
		fail("network.objectStorageCidrs[0]", "0.0.0.0/0", bad("network.objectStorageCidrs[0]", `"0.0.0.0/0"`, "must not match every address: name "+objectStore)),
		fail("postgres.walArchive.s3Bucket", "pynomaly-wal", bad("network.objectStorageCidrs", "[]", "must name "+objectStore)),
		fail("network.objectStorageCidrs[0]", "s3.amazonaws.com", bad("network.objectStorageCidrs[0]", `"s3.amazonaws.com"`, `must be a CIDR such as "10.0.0.0/16" or "fd00::/64"`)),
		good("network.prometheusNamespace", "observability", `"observability"`),
		good("network.debugClients", "false", "false"),
		fail("network.debugClients", "yes", bad("network.debugClients", `"yes"`, "must be true or false, not a JSON string")),
		fail("network.prometheusNamespace", "kube-system", bad("network.prometheusNamespace", `"kube-system"`,
			"must be the namespace of the cluster's Prometheus alone, not default or a kube- one: the NetworkPolicies open every metrics port to all pods of that namespace, and the cluster's own components run there")),
		fail("network.prometheusNamespace", "", bad("network.prometheusNamespace", `""`, "must be a namespace name (a DNS label): where the cluster's Prometheus runs in monitoringMode operator")),
	)

	// Node labels per component, or default for the others; a number is a label value as text.
	// (An entry emptied by pulumi config rm is refused too: tests/config_test.go, the CLI cannot
	// set an empty object.)
	add(good("nodeSelectors.default.pool", "platform", `"platform"`),
		good("nodeSelectors.influxdb.type", "kwok", `"kwok"`),
		good("nodeSelectors.api.generation", "3", `"3"`),
		fail("nodeSelectors.apii.type", "real", bad("nodeSelectors.apii", `{"type":"real"}`,
			"is not a component of this stack's pods; did you mean api?; must be default (every component without an entry of its own) or one of "+
				"postgres, postgres-setup, postgres-backup, pooler, redis-queue, redis-cache, influxdb, influxdb-setup, influxdb-backup, "+
				"migrate, api, worker, redis-retire, nginx, prometheus, grafana")),
		fail("nodeSelectors.api.-pool", "platform", bad("nodeSelectors.api.-pool", `"platform"`, `"-pool" is not a Kubernetes label key: `+
			"an optional prefix (a DNS subdomain) and '/', then a name of at most 63 letters, digits, '-', '_' and '.' that starts and ends "+
			"with a letter or digit, such as pool or node.kubernetes.io/instance-type")),
		fail("nodeSelectors.worker.pool", "gpu pool", bad("nodeSelectors.worker.pool", `"gpu pool"`,
			"must be a Kubernetes label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty)")),
		fail("nodeSelectors.api", "real", bad("nodeSelectors", `{"api":"real"}`,
			"must be an object of objects of strings (name: {name: value}); something in it is a JSON string")),
	)

	for _, im := range []struct{ field, good, bad string }{
		{"postgres", "ghcr.io/zalando/spilo-17:4.0-p4", "ghcr.io/zalando/spilo-17"},
		{"postgresClient", "postgres:17.6-alpine", "postgres:latest"},
		{"postgresExporter", "quay.io/prometheuscommunity/postgres-exporter:v0.17.2", "postgres-exporter"},
		{"pgbouncer", "ghcr.io/cloudnative-pg/pgbouncer:1.24.2", "pgbouncer:latest"},
		{"redis", "redis:7.4.3-alpine", "redis:latest"},
		{"redisExporter", "oliver006/redis_exporter:v1.68.0", "Redis_Exporter:v1"},
		{"influxdb", "influxdb:2.7.12-alpine", "influxdb"},
		{"api", "registry.example.com/pynomaly/api:2.3.1", "registry.example.com/pynomaly/api"},
		{"worker", "registry.example.com/pynomaly/worker@sha256:" + strings.Repeat("ab", 32), "worker:latest"},
		{"nginx", "nginxinc/nginx-unprivileged:1.27.4-alpine", "nginx"},
		{"nginxExporter", "nginx/nginx-prometheus-exporter:1.4.1", "nginx/nginx-prometheus-exporter:latest"},
		{"prometheus", "quay.io/prometheus/prometheus:v3.2.0", "prom/prometheus"},
		{"alertmanager", "quay.io/prometheus/alertmanager:v0.28.0", "alertmanager:latest"},
		{"grafana", "grafana/grafana:11.5.1", "grafana/grafana"},
		{"kubeStateMetrics", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.14.0", "kube-state-metrics:latest"},
		{"prometheusAdapter", "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.11.2", "prometheus-adapter:latest"},
		{"kubectl", "alpine/k8s:1.32.9", "alpine/k8s"},
		{"logStore", "victoriametrics/victoria-logs:v1.52.1", "victoriametrics/victoria-logs:latest"},
		{"logCollector", "otel/opentelemetry-collector-contrib:0.141.0", "otel/opentelemetry-collector-contrib"},
		{"nodeExporter", "quay.io/prometheus/node-exporter:v1.9.0", "node-exporter:latest"},
	} {
		add(good("images."+im.field, im.good, quoted(im.good)),
			fail("images."+im.field, im.bad, bad("images."+im.field, quoted(im.bad), pinned)))
	}
	// Node pools: taints tolerated and priority, per component as nodeSelectors.
	add(good("tolerations.worker[0].key", "pynomaly.io/pool", `[{"effect":"","key":"pynomaly.io/pool","operator":"","value":""}]`),
		Case{Before: [][2]string{{"tolerations.worker[0].key", "pynomaly.io/pool"}}, Path: "tolerations.worker[0].effect", Value: "NoSchedule",
			Want: `[{"effect":"NoSchedule","key":"pynomaly.io/pool","operator":"","value":""}]`},
		fail("tolerations.worker[0].operator", "Exists", bad("tolerations.worker[0].key", `""`,
			"must name a taint: an empty key with operator Exists tolerates every taint, the control plane's and the system pools' too")),
		Case{Before: [][2]string{{"tolerations.worker[0].key", "pynomaly.io/pool"}}, Path: "tolerations.worker[0].effect", Value: "NoScheduling",
			Err: bad("tolerations.worker[0].effect", `"NoScheduling"`, "must be NoSchedule, PreferNoSchedule, NoExecute, or empty for every effect")},
		Case{Before: [][2]string{{"tolerations.workers[0].key", "pynomaly.io/pool"}}, Path: "tolerations.workers[0].value", Value: "batch",
			Err: bad("tolerations.workers", `[{"key":"pynomaly.io/pool","operator":"","value":"batch","effect":""}]`,
				"is not a component of this stack's pods; did you mean worker?; must be default (every component without an entry of its own) or one of "+
					"postgres, postgres-setup, postgres-backup, pooler, redis-queue, redis-cache, influxdb, influxdb-setup, influxdb-backup, "+
					"migrate, api, worker, redis-retire, nginx, prometheus, grafana")},
		good("priorityClasses.create", "true", `true`),
		fail("priorityClasses.create", "on", bad("priorityClasses.create", `"on"`, "must be true or false, not a JSON string")),
		good("priorityClasses.names.grafana", "low-priority", `"low-priority"`),
		fail("priorityClasses.names.postgres", "system-cluster-critical", bad("priorityClasses.names.postgres", `"system-cluster-critical"`,
			"must not be a system- class: those are for the cluster's own critical pods, which the platform's would then preempt")),
		good("serviceAccounts.api.annotations.owner", "data-science", `"data-science"`),
		fail("serviceAccounts.api.labels.component", "api", bad("serviceAccounts.api.labels.component", `"api"`,
			"must not be one of the program's own labels (app, component, app.kubernetes.io/*), which selectors and policies rely on")),
	)

	// The cloud identity of the object storage workloads (prod's stack file names an IAM role).
	add(Case{Env: "prod", Path: "identity.objectStorage", Value: "arn:aws:iam::210987654321:role/pynomaly-wal", Want: `"arn:aws:iam::210987654321:role/pynomaly-wal"`},
		Case{Env: "prod", Path: "identity.objectStorage", Value: "pynomaly-wal", Err: bad("identity.objectStorage", `"pynomaly-wal"`,
			"must be an IAM role's ARN, such as arn:aws:iam::123456789012:role/pynomaly-wal (kubernetes.cloud aws)")},
		Case{Env: "prod", Path: "identity.annotationKey", Value: "eks.amazonaws.com/role-arn", Want: `"eks.amazonaws.com/role-arn"`},
		Case{Env: "prod", Path: "identity.annotationKey", Value: "role arn", Err: bad("identity.annotationKey", `"role arn"`,
			"must be an annotation key, such as eks.amazonaws.com/role-arn")},
		good("identity.podLabels.team", "ds", `"ds"`),
		fail("identity.podLabels.component", "wal", bad("identity.podLabels.component", `"wal"`,
			"must not be one of the program's own labels (app, component, app.kubernetes.io/*), which selectors and policies rely on")),
		Case{Env: "prod", Before: [][2]string{{"kubernetes.cloud", "gcp"}}, Path: "identity.objectStorage", Value: "pynomaly-wal@my-project.iam.gserviceaccount.com",
			Err: bad("identity.objectStorage", `"pynomaly-wal@my-project.iam.gserviceaccount.com"`,
				"is a gcp identity, which s3 does not take: name the store's keys in postgres.walArchive.credentialsSecret instead")},
		Case{Env: "prod", Before: [][2]string{{"kubernetes.cloud", "azure"}, {"postgres.walArchive.s3Bucket", ""}, {"postgres.walArchive.region", ""},
			{"postgres.walArchive.azureContainer", "pynomaly-wal"}, {"postgres.walArchive.azureStorageAccount", "pynomalyprod"}},
			Path: "identity.objectStorage", Value: "00000000-1111-2222-3333-444444444444",
			Err: bad("identity.objectStorage", `"00000000-1111-2222-3333-444444444444"`, "cannot log WAL-G in to Azure Blob: Spilo hands it an account key, a SAS token "+
				"or a service principal's secret, never the federated token Azure Workload Identity projects; remove this and name "+
				"postgres.walArchive.credentialsSecret (AZURE_STORAGE_ACCESS_KEY)")},
		fail("identity.podLabels.team", "data science", bad("identity.podLabels.team", `"data science"`,
			"must be a Kubernetes label: a qualified key and a value of at most 63 letters, digits, '-', '_' and '.'")),
		good("images.pullSecrets[0]", "registry-credentials", `["registry-credentials"]`),
		fail("images.pullSecrets[0]", "Registry Credentials", bad("images.pullSecrets[0]", `"Registry Credentials"`,
			"must be the name of a Secret in the namespace (lowercase letters, digits, '-' and '.')")),
	)

	// The entry point's cloud annotations (prod's stack file names a Gateway and its host).
	add(Case{Env: "prod", Path: "edge.gateway.loadBalancerAnnotations.scheme", Value: "internal",
		Want: `"internal"`},
		Case{Env: "prod", Path: "edge.gateway.loadBalancerAnnotations.-scheme", Value: "internal", Err: bad("edge.gateway.loadBalancerAnnotations.-scheme", `"internal"`,
			`"-scheme" is not an annotation key: an optional prefix (a DNS subdomain) and '/', then a name`)},
		Case{Env: "prod", Path: "edge.dns.externalDns", Value: "false", Want: `false`},
		fail("edge.dns.externalDns", "true", bad("edge.dns.externalDns", "true",
			"needs an entry point to annotate (edge.entry ingress or gateway); with entry none there is no address to publish")),
		good("edge.dns.ttlSeconds", "300", `300`),
		fail("edge.dns.ttlSeconds", "5", bad("edge.dns.ttlSeconds", "5", "must be 30 to 86400 seconds (the default, 60, lets a switch to another cluster take effect within minutes)")),
	)

	add(good("images.pullPolicy", "IfNotPresent", `"IfNotPresent"`),
		fail("images.pullPolicy", "always", bad("images.pullPolicy", `"always"`, "must be one of Always, IfNotPresent, Never")))

	// The webhook URL is a secret too, and must be a URL.
	const webhook = "alertmanagerWebhookUrl"
	add(Case{Path: webhook, Value: "https://hooks.example.com/services/T0/B0/xyz", Secret: true, Want: quoted(config.CredentialSet)},
		fail(webhook, "https://hooks.example.com/services/T0/B0/xyz", bad(webhook, "[not shown]", "a credential must be stored encrypted: pulumi config set --secret "+webhook+" <value>")),
		Case{Path: webhook, Value: "hooks.example.com/xyz", Secret: true, Err: bad(webhook, "[not shown]", "must be the http:// or https:// URL the alerts are posted to")})

	// Credentials: with --secret they are taken (and shown only as set); in plain text they stop
	// the preview, and so do characters or a length that a consumer would take differently.
	for _, k := range config.Keys() {
		if !IsCredential(k) {
			continue
		}
		shortest := 16
		if k == "influxdbAdminToken" || k == "apiSecretKey" {
			shortest = 32
		}
		chars := fmt.Sprintf("must be %d to 128 letters, digits, '-', '.', '_' or '~' (what PgBouncer's user list, "+
			"Redis's configuration and connection URLs all take unescaped)", shortest)
		add(Case{Path: k, Value: "Operator.chosen-credential_0123~x", Secret: true, Want: quoted(config.CredentialSet)},
			fail(k, "hunter2hunter2", bad(k, "[not shown]", "a credential must be stored encrypted: pulumi config set --secret "+k+" <value>")),
			Case{Path: k, Value: `p"a ss'w\rd%1 needs quoting everywhere`, Secret: true, Err: bad(k, "[not shown]", chars+"; this one has other characters")},
			Case{Path: k, Value: "Short-1234", Secret: true, Err: bad(k, "[not shown]", chars+"; this one has 10 characters")})
	}
	return cs
}

// Check parses a case's stack configuration (what `pulumi config set` left, as the CLI hands it
// to the program) and says how the outcome differs from the case's, or nil.
func (c Case) Check(project string, src load.Source) error {
	s, err := load.Parse(project, src)
	if err == nil {
		// What only the stack's plan can tell (the quota, the node selectors' components).
		_, err = platform.Plan(s)
	}
	if c.Err != "" {
		switch {
		case err == nil:
			return fmt.Errorf("accepted; want the error\n  %s", c.Err)
		case err.Error() != c.Err:
			return fmt.Errorf("error\n  %s\nwant\n  %s", err, c.Err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	var v any
	if err := json.Unmarshal(s.ViewJSON(), &v); err != nil {
		return err
	}
	for _, step := range strings.Split(c.Path, ".") {
		// A list's case (hosts[0], tolerations.worker[0].key) compares the whole list.
		step, _, _ = strings.Cut(step, "[")
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("the settings view has no %s", c.Path)
		}
		if v, ok = m[step]; !ok {
			return fmt.Errorf("the settings view has no %s", c.Path)
		}
		if _, list := v.([]any); list {
			break
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if string(b) != c.Want {
		return fmt.Errorf("%s is %s in the effective settings, want %s", c.Path, b, c.Want)
	}
	return nil
}

// resources are the cases of a container's requests and limits, for a profile whose memory
// limit is memLimit, under a LimitRange whose maximum is maxCPU/maxMemory.
func resources(key, memLimit, maxCPU, maxMemory string) []Case {
	k := key + ".resources."
	return []Case{
		{Path: k + "cpuRequest", Value: "20m", Want: `"20m"`},
		{Path: k + "cpuRequest", Value: "fast", Err: bad(k+"cpuRequest", `"fast"`, cpuExample)},
		{Path: k + "memoryRequest", Value: "32Mi", Want: `"32Mi"`},
		{Path: k + "memoryRequest", Value: "8Gi", Err: bad(k+"memoryRequest", `"8Gi"`, "must not exceed "+k+"memoryLimit ("+memLimit+")")},
		// A CPU limit typed as a number of cores.
		{Path: k + "cpuLimit", Value: "1", Want: `"1"`},
		{Path: k + "cpuLimit", Value: "10", Err: bad(k+"cpuLimit", `"10"`, "must not exceed limitRange.maxCpu ("+maxCPU+")")},
		{Path: k + "memoryLimit", Value: "1Gi", Want: `"1Gi"`},
		{Path: k + "memoryLimit", Value: "5Gi", Err: bad(k+"memoryLimit", `"5Gi"`, "must not exceed limitRange.maxMemory ("+maxMemory+")")},
		// dev's LimitRange admits at most 4Gi of ephemeral storage per container.
		{Path: k + "ephemeralStorageRequest", Value: "128Mi", Want: `"128Mi"`},
		{Path: k + "ephemeralStorageRequest", Value: "2 gigs", Err: bad(k+"ephemeralStorageRequest", `"2 gigs"`, diskExample)},
		{Path: k + "ephemeralStorageLimit", Value: "1Gi", Want: `"1Gi"`},
		{Path: k + "ephemeralStorageLimit", Value: "5Gi", Err: bad(k+"ephemeralStorageLimit", `"5Gi"`, "must not exceed limitRange.maxEphemeralStorage (4Gi)")},
	}
}

// agentResources are the cases of a node agent's resources: like resources, but without the
// namespace's LimitRange, which is not their namespace's.
func agentResources(key, memLimit string) []Case {
	k := key + "."
	return []Case{
		{Path: k + "cpuRequest", Value: "20m", Want: `"20m"`},
		{Path: k + "cpuRequest", Value: "fast", Err: bad(k+"cpuRequest", `"fast"`, cpuExample)},
		{Path: k + "memoryRequest", Value: "32Mi", Want: `"32Mi"`},
		{Path: k + "memoryRequest", Value: "8Gi", Err: bad(k+"memoryRequest", `"8Gi"`, "must not exceed "+k+"memoryLimit ("+memLimit+")")},
		{Path: k + "cpuLimit", Value: "1", Want: `"1"`},
		{Path: k + "cpuLimit", Value: "one", Err: bad(k+"cpuLimit", `"one"`, cpuExample)},
		{Path: k + "memoryLimit", Value: "1Gi", Want: `"1Gi"`},
		{Path: k + "memoryLimit", Value: "1 GB", Err: bad(k+"memoryLimit", `"1 GB"`, memoryExample)},
		{Path: k + "ephemeralStorageRequest", Value: "128Mi", Want: `"128Mi"`},
		{Path: k + "ephemeralStorageRequest", Value: "2 gigs", Err: bad(k+"ephemeralStorageRequest", `"2 gigs"`, diskExample)},
		{Path: k + "ephemeralStorageLimit", Value: "1Gi", Want: `"1Gi"`},
		{Path: k + "ephemeralStorageLimit", Value: "lots", Err: bad(k+"ephemeralStorageLimit", `"lots"`, diskExample)},
	}
}

// IsCredential says whether a key is one of the secret overrides of generated credentials: a
// case's Before sets these with --secret.
func IsCredential(key string) bool {
	return strings.HasSuffix(key, "Password") || strings.HasSuffix(key, "Token") || key == "apiSecretKey"
}

// Leaves are the settings a case must cover: every key without fields, and every field of an
// object key that is not an object itself (a map such as storage.parameters is a leaf).
func Leaves() []string {
	var out []string
	for _, k := range config.KeyTable() {
		fields := k.Fields()
		if len(fields) == 0 {
			out = append(out, k.Name)
			continue
		}
		for _, f := range fields {
			parent := false
			for _, g := range fields {
				parent = parent || strings.HasPrefix(g, f+".")
			}
			if !parent {
				out = append(out, k.Name+"."+f)
			}
		}
	}
	return out
}

// Covers says whether a case's path sets the leaf (or, for a map or a mistyped path, something
// inside it).
func Covers(path, leaf string) bool {
	path, _, _ = strings.Cut(path, "[")
	return path == leaf || strings.HasPrefix(path, leaf+".")
}

// CLITyped is the value `pulumi config set --path` stores for what was typed (the CLI's coerce in
// sdk/go/common/resource/config/object.go): true and false are booleans, base-10 integers that
// do not start with 0 are numbers, everything else is a string. Top-level keys are always strings.
func CLITyped(typed string) any {
	switch typed {
	case "true":
		return true
	case "false":
		return false
	}
	if len(typed) > 1 && typed[0] == '0' {
		return typed
	}
	if i, err := strconv.ParseInt(typed, 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(typed, 10, 64); err == nil {
		return u
	}
	return typed
}

// standbyCases: a disaster-recovery stack in another region replays prod's archive with the
// primary's PostgreSQL passwords (set with --secret first).
func standbyCases(add func(...Case)) {
	const from = "postgres.standby.fromNamespace"
	primarys := [][2]string{{"postgresSuperuserPassword", "primary-superuser-0123"}, {"postgresReplicationPassword", "primary-replication-0123"},
		{"postgresMonitorPassword", "primary-monitor-01234"}}
	with := func(more ...[2]string) [][2]string { return append(append([][2]string{}, primarys...), more...) }
	add(Case{Env: "prod", Before: primarys, Path: from, Value: "pynomaly-eu", Want: `"pynomaly-eu"`},
		Case{Env: "prod", Before: primarys, Path: from, Value: "Pynomaly EU", Err: bad(from, `"Pynomaly EU"`,
			"must be the primary stack's namespace (a DNS label), or empty for no standby")},
		// Its own namespace and bucket: once promoted it would archive into what it replays.
		Case{Env: "prod", Before: primarys, Path: from, Value: config.DefaultNamespace, Err: bad(from, `"`+config.DefaultNamespace+`"`,
			"must not be this stack's own namespace while postgres.standby.fromBucket is this stack's bucket: the standby would replay the archive it writes to once promoted")},
		Case{Env: "prod", Before: primarys[:2:2], Path: from, Value: "pynomaly-eu", Err: bad("postgresMonitorPassword", `""`,
			"must be set (pulumi config set --secret, or from the secret manager: secrets.sources) to the primary stack's value while postgres.standby.fromNamespace is set: "+
				"the standby replays the primary's roles, so Patroni, its replicas and the metrics exporter log in with the primary's passwords (docs/disaster-recovery.md)")},
		Case{Before: primarys, Path: from, Value: "pynomaly-eu", Err: bad(from, `"pynomaly-eu"`,
			"needs postgres.walArchive's store (s3Bucket, gcsBucket or azureContainer): the standby replays the primary's archive through it")},
		Case{Env: "prod", Before: with([2]string{"postgres.restore.targetTime", "latest"}), Path: from, Value: "pynomaly-eu", Err: bad("postgres.restore.targetTime", `"latest"`,
			"must be empty while postgres.standby.fromNamespace is set: a cluster bootstraps either as a standby or as a restored copy (Spilo ignores the standby when cloning)")},
		Case{Env: "prod", Before: with([2]string{"images.postgres", "example.com/postgres:17"}), Path: from, Value: "pynomaly-eu", Err: bad("images.postgres", `"example.com/postgres:17"`,
			"must name its PostgreSQL major version as Spilo's images do (spilo-17) while postgres.standby.fromNamespace is set: the primary's archive is kept per major version")},
		// The same namespace name in another region's bucket is another archive.
		Case{Env: "prod", Before: with([2]string{from, config.DefaultNamespace}), Path: "postgres.standby.fromBucket", Value: "pynomaly-prod-wal-replica", Want: `"pynomaly-prod-wal-replica"`},
		Case{Env: "prod", Before: with([2]string{from, "pynomaly-eu"}), Path: "postgres.standby.fromBucket", Value: "My Bucket", Err: bad("postgres.standby.fromBucket", `"My Bucket"`,
			"must be a bucket (or Azure container) name of postgres.walArchive's store, or empty for its own bucket")},
		Case{Env: "prod", Path: "postgres.standby.fromBucket", Value: "pynomaly-prod-wal-replica", Err: bad("postgres.standby.fromBucket", `"pynomaly-prod-wal-replica"`,
			"is only read with postgres.standby.fromNamespace (the primary's namespace); set that, or remove this")},
		// The promotion.
		Case{Env: "prod", Before: with([2]string{from, "pynomaly-eu"}), Path: "postgres.standby.promoted", Value: "true", Want: `true`},
		Case{Env: "prod", Path: "postgres.standby.promoted", Value: "true", Err: bad("postgres.standby.promoted", "true",
			"is only read with postgres.standby.fromNamespace (the primary's namespace): a stack that never was a standby has nothing to promote")},
	)
}
