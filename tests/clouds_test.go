package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cloudCase is prod on one cloud, and what its preset must give: the table of the cloud
// portability issue, written out here rather than read from the presets, so a preset that drifts
// from it fails.
type cloudCase struct {
	cloud string
	// store and identity are the settings an operator on that cloud writes.
	store, identity string
	// What the rendered stack must hold.
	provisioner    string
	parameters     map[string]string
	snapshotDriver string
	identityKey    string
	walEnv         map[string]string
	// walSecretEnv are Spilo's variables read from a Secret: the Secret's name, by variable.
	walSecretEnv map[string]string
	lbAnnotation string
}

var cloudCases = []cloudCase{
	{
		cloud: "aws", store: `{"s3Bucket": "pynomaly-wal", "region": "eu-west-1"}`, identity: "arn:aws:iam::123456789012:role/pynomaly-wal",
		provisioner: "ebs.csi.aws.com", parameters: map[string]string{"type": "gp3", "encrypted": "true"},
		snapshotDriver: "ebs.csi.aws.com", identityKey: "eks.amazonaws.com/role-arn",
		walEnv:       map[string]string{"WAL_S3_BUCKET": "pynomaly-wal", "AWS_REGION": "eu-west-1"},
		lbAnnotation: "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes",
	},
	{
		cloud: "gcp", store: `{"gcsBucket": "pynomaly-wal"}`, identity: "pynomaly-wal@my-project.iam.gserviceaccount.com",
		provisioner: "pd.csi.storage.gke.io", parameters: map[string]string{"type": "pd-ssd"},
		snapshotDriver: "pd.csi.storage.gke.io", identityKey: "iam.gke.io/gcp-service-account",
		walEnv:       map[string]string{"WAL_GS_BUCKET": "pynomaly-wal"},
		lbAnnotation: "cloud.google.com/l4-rbs",
	},
	{
		// No workload identity on Azure (Spilo never hands WAL-G the federated token): the
		// storage account's key, from a Secret.
		cloud: "azure", store: `{"azureContainer": "pynomaly-wal", "azureStorageAccount": "pynomalyprod", "credentialsSecret": "wal-azure"}`,
		provisioner: "disk.csi.azure.com", parameters: map[string]string{"skuName": "Premium_LRS"},
		snapshotDriver: "disk.csi.azure.com",
		walEnv: map[string]string{
			"AZURE_STORAGE_ACCOUNT": "pynomalyprod",
			"WALG_AZ_PREFIX":        "azure://pynomaly-wal/spilo/$(POD_NAMESPACE)-pynomaly-postgres/wal/17",
		},
		walSecretEnv: map[string]string{"AZURE_STORAGE_ACCESS_KEY": "wal-azure"},
	},
}

// deployOnCloud is the committed prod moved to the case's cloud: its store replaces S3, and its
// identity the committed IAM role.
func deployOnCloud(t *testing.T, c cloudCase) *Stack {
	t.Helper()
	store := strings.TrimSuffix(`{"walArchive": {"s3Bucket": "", "region": "", `+strings.TrimPrefix(c.store, "{"), "}") + "}}"
	return deploy(t, "prod", cfg{
		"kubernetes": `{"cloud": "` + c.cloud + `"}`,
		"postgres":   store,
		"identity":   `{"objectStorage": "` + c.identity + `"}`,
	})
}

// secretEnvOf is a container's variables read from a Secret: the Secret's name, by variable.
func secretEnvOf(t *testing.T, r *Resource, container string) map[string]string {
	t.Helper()
	out := map[string]string{}
	env, _ := r.Get(container + ".env")
	for i := range env.ArrayValue() {
		if secret, ok := r.Get(fmt.Sprintf("%s.env.%d.valueFrom.secretKeyRef.name", container, i)); ok {
			out[r.Str(t, fmt.Sprintf("%s.env.%d.name", container, i))] = secret.StringValue()
		}
	}
	return out
}

// On each cloud, prod gets that cloud's encrypted SSD class, a snapshot class of the same
// driver, its load balancer, WAL-G writing to that cloud's store, and the object storage
// workloads' accounts bound to the cloud identity: PostgreSQL's and the backup jobs' that copy
// off the cluster, and no other.
func TestCloudPresetsGiveEachCloudItsOwn(t *testing.T) {
	for _, c := range cloudCases {
		t.Run(c.cloud, func(t *testing.T) {
			st := deployOnCloud(t, c)
			class := st.One(t, "kubernetes:storage.k8s.io/v1:StorageClass", "pynomaly-ssd")
			assert.Equal(t, c.provisioner, class.Str(t, "provisioner"))
			assert.Equal(t, c.parameters, class.StringMap(t, "parameters"))

			snapshots := st.One(t, "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "pynomaly-data-science-snapshots")
			assert.Equal(t, c.snapshotDriver, snapshots.Str(t, "driver"))

			gateway := st.One(t, "kubernetes:gateway.networking.k8s.io/v1:Gateway", "pynomaly-gateway")
			if c.lbAnnotation == "" {
				assert.False(t, gateway.Has("spec.infrastructure"), "load balancer annotations where the cloud needs none")
			} else {
				assert.Contains(t, gateway.StringMap(t, "spec.infrastructure.annotations"), c.lbAnnotation)
			}

			for _, sa := range st.OfType("kubernetes:core/v1:ServiceAccount") {
				bound := sa.Has("metadata.annotations") && c.identityKey != "" && sa.StringMap(t, "metadata.annotations")[c.identityKey] == c.identity
				objectStore := c.identity != "" && slices.Contains([]string{"pynomaly-postgres", "pynomaly-postgres-backup", "pynomaly-influxdb-backup"}, sa.Name)
				assert.Equal(t, objectStore, bound, "ServiceAccount %s: bound to the cloud identity", sa.Name)
			}

			sts := st.One(t, "kubernetes:apps/v1:StatefulSet", "pynomaly-postgres")
			env := sts.Env(t, sts.Container(t, "spec.template.spec", "postgres"))
			for k, v := range c.walEnv {
				assert.Equal(t, v, env[k], "Spilo's %s", k)
			}
			postgres := sts.Container(t, "spec.template.spec", "postgres")
			for k, secret := range c.walSecretEnv {
				assert.Equal(t, secret, secretEnvOf(t, sts, postgres)[k], "Spilo's %s, from the Secret", k)
			}
			for _, other := range []string{"WAL_S3_BUCKET", "WAL_GS_BUCKET", "WALG_AZ_PREFIX"} {
				if _, mine := c.walEnv[other]; !mine {
					assert.NotContains(t, env, other, "another store's variable")
				}
			}
			backup := st.One(t, "kubernetes:batch/v1:CronJob", "pynomaly-postgres-backup")
			copyEnv := backup.Env(t, backup.Container(t, "spec.jobTemplate.spec.template.spec", "postgres-backup-copy"))
			prefix := map[string]string{
				"aws":   "s3://pynomaly-wal/pynomaly-dumps/$(POD_NAMESPACE)",
				"gcp":   "gs://pynomaly-wal/pynomaly-dumps/$(POD_NAMESPACE)",
				"azure": "azure://pynomaly-wal/pynomaly-dumps/$(POD_NAMESPACE)",
			}[c.cloud]
			assert.Contains(t, []string{copyEnv["WALG_S3_PREFIX"], copyEnv["WALG_GS_PREFIX"], copyEnv["WALG_AZ_PREFIX"]}, prefix,
				"the dump's copy goes to the cloud's store")
		})
	}
}

// noIdentity clears the committed prod's cloud identity, for a stack whose store's keys are in a
// Secret (the two are refused together: the keys would win).
const noIdentity = `{"objectStorage": ""}`

// A stack's own choice wins over its cloud's: another driver gets none of the cloud's
// parameters, and a credentials Secret on GCS is mounted as the key file WAL-G reads.
func TestCloudPresetsYieldToTheStack(t *testing.T) {
	st := deploy(t, "prod", cfg{"kubernetes": `{"cloud": "gcp"}`, "storage": `{"provisioner": "filestore.csi.storage.gke.io"}`,
		"postgres": `{"walArchive": {"s3Bucket": "", "region": "", "gcsBucket": "pynomaly-wal", "credentialsSecret": "wal-gcs"}}`,
		"identity": noIdentity})
	class := st.One(t, "kubernetes:storage.k8s.io/v1:StorageClass", "pynomaly-ssd")
	assert.Equal(t, "filestore.csi.storage.gke.io", class.Str(t, "provisioner"))
	assert.False(t, class.Has("parameters") && len(class.StringMap(t, "parameters")) > 0, "another driver got the cloud's parameters")

	sts := st.One(t, "kubernetes:apps/v1:StatefulSet", "pynomaly-postgres")
	postgres := sts.Container(t, "spec.template.spec", "postgres")
	keyFile := sts.Env(t, postgres)["GOOGLE_APPLICATION_CREDENTIALS"]
	require.NotEmpty(t, keyFile)
	mounted := false
	mounts, _ := sts.Get(postgres + ".volumeMounts")
	for _, m := range mounts.ArrayValue() {
		mount := m.ObjectValue()
		if strings.HasPrefix(keyFile, mount["mountPath"].StringValue()+"/") {
			mounted = true
			assert.Equal(t, "object-store-credentials", mount["name"].StringValue())
		}
	}
	assert.True(t, mounted, "no volume holds %s", keyFile)
	for _, sa := range st.OfType("kubernetes:core/v1:ServiceAccount") {
		assert.False(t, sa.Has("metadata.annotations"), "ServiceAccount %s is annotated without an identity", sa.Name)
	}
}

// The committed prod is the seed's prod: the API at api.pynomaly.io and Grafana at
// grafana.pynomaly.io through a Gateway with a cert-manager certificate, published by
// external-dns, and every claim snapshotted daily.
func TestCommittedProdIsTheSeedsProd(t *testing.T) {
	st := deploy(t, "prod", nil)
	route := st.One(t, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "pynomaly-nginx")
	hosts, _ := route.Get("spec.hostnames")
	require.Len(t, hosts.ArrayValue(), 1)
	assert.Equal(t, "api.pynomaly.io", hosts.ArrayValue()[0].StringValue())
	assert.Equal(t, "api.pynomaly.io", route.StringMap(t, "metadata.annotations")["external-dns.alpha.kubernetes.io/hostname"])

	grafana := st.One(t, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "pynomaly-grafana")
	assert.Equal(t, []string{"grafana.pynomaly.io"}, stringList(t, grafana, "spec.hostnames"))
	assert.Equal(t, "grafana.pynomaly.io", grafana.StringMap(t, "metadata.annotations")["external-dns.alpha.kubernetes.io/hostname"])
	g := st.One(t, "kubernetes:apps/v1:Deployment", "pynomaly-grafana")
	assert.Equal(t, "https://grafana.pynomaly.io/", g.Env(t, g.Container(t, "spec.template.spec", "grafana"))["GF_SERVER_ROOT_URL"])

	cert := st.One(t, "kubernetes:cert-manager.io/v1:Certificate", "pynomaly-tls")
	assert.Equal(t, []string{"api.pynomaly.io", "grafana.pynomaly.io"}, stringList(t, cert, "spec.dnsNames"))
	gateway := st.One(t, "kubernetes:gateway.networking.k8s.io/v1:Gateway", "pynomaly-gateway")
	assert.Equal(t, "pynomaly-tls", gateway.Str(t, "spec.listeners.1.tls.certificateRefs.0.name"))

	snapshots := st.One(t, "kubernetes:batch/v1:CronJob", "pynomaly-volume-snapshots")
	assert.Equal(t, "0 3 * * *", snapshots.Str(t, "spec.schedule"))
	class := st.One(t, "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "pynomaly-data-science-snapshots")
	env := snapshots.Env(t, snapshots.Container(t, "spec.jobTemplate.spec.template.spec", "volume-snapshots"))
	assert.Equal(t, class.Str(t, "metadata.name"), env["SNAPSHOT_CLASS"], "the schedule snapshots through the class the stack created")
	assert.True(t, st.DependsOn(snapshots, class), "the schedule may run before its class exists")
}

// A restore under IRSA reads the archive as the stack's role: Spilo builds the clone's
// environment from CLONE_ variables alone, and the webhook injects only unprefixed ones.
func TestRestoreUnderIRSAReadsAsTheRole(t *testing.T) {
	st := deploy(t, "prod", cfg{"postgres": `{"restore": {"targetTime": "latest"}}`})
	sts := st.One(t, "kubernetes:apps/v1:StatefulSet", "pynomaly-postgres")
	env := sts.Env(t, sts.Container(t, "spec.template.spec", "postgres"))
	assert.Equal(t, "arn:aws:iam::123456789012:role/pynomaly-prod-wal", env["CLONE_AWS_ROLE_ARN"], "the committed prod's role")
	assert.Equal(t, "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", env["CLONE_AWS_WEB_IDENTITY_TOKEN_FILE"])
	assert.Equal(t, "pynomaly-wal", deployOnCloudEnv(t)["CLONE_WAL_GS_BUCKET"], "the clone reads GCS through the metadata server")
}

// deployOnCloudEnv is Spilo's environment of a GCP prod restoring from its archive.
func deployOnCloudEnv(t *testing.T) map[string]string {
	t.Helper()
	st := deploy(t, "prod", cfg{"kubernetes": `{"cloud": "gcp"}`,
		"postgres": `{"walArchive": {"s3Bucket": "", "region": "", "gcsBucket": "pynomaly-wal"}, "restore": {"targetTime": "latest"}}`,
		"identity": `{"objectStorage": "pynomaly-wal@my-project.iam.gserviceaccount.com"}`})
	sts := st.One(t, "kubernetes:apps/v1:StatefulSet", "pynomaly-postgres")
	env := sts.Env(t, sts.Container(t, "spec.template.spec", "postgres"))
	assert.NotContains(t, env, "CLONE_AWS_ROLE_ARN", "an IAM role on GCP")
	return env
}
