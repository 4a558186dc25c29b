package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// offClusterCopy is one CronJob whose data is copied off the cluster: its copy container, where
// the copies go in the bucket, the directory copied, and whether that holds backups by time.
type offClusterCopy struct {
	cron, container, kind, dir string
	newest                     bool
}

var (
	dumpCopy   = offClusterCopy{postgres.BackupCronJob, "postgres-backup-copy", postgres.DumpsKind, "/backup", true}
	influxCopy = offClusterCopy{influxdb.BackupCronJob, "influxdb-backup-copy", influxdb.BackupsKind, "/backup/influxdb", true}
	modelsCopy = offClusterCopy{app.ModelsBackupCronJob, "models-backup-copy", app.ModelsKind, app.ModelStoragePath, false}
)

// A bucket for dev and staging (prod's stack file names one), with the store's addresses.
var (
	bucket       = `{"walArchive": {"s3Bucket": "pynomaly-wal", "region": "eu-west-1"}}`
	storeCIDRs   = `{"objectStorageCidrs": ["203.0.113.0/24"]}`
	sharedModels = `{"modelAccessMode": "ReadWriteMany", "modelClassName": "efs-sc"}`
)

// Everything that holds data leaves the cluster in every environment that names a bucket: the
// dump and InfluxDB's backup always, the model files where they are on the shared claim (with
// ReadWriteOnce each pod's models are its own scratch). dev and staging name none by default,
// and copy nothing; prod's stack file names one. Each copy is kept as long as what it copies.
func TestEverythingThatHoldsDataLeavesTheClusterWhereABucketIsNamed(t *testing.T) {
	for _, c := range []struct {
		name, env, bucket string
		shared            bool
		copies            []offClusterCopy
		retentionDays     string
	}{
		{"dev", "dev", "", true, nil, "3"},
		{"staging", "staging", "", true, nil, "7"},
		{"prod", "prod", "pynomaly-prod-wal", false, []offClusterCopy{dumpCopy, influxCopy}, "14"},
		{"prod, shared models", "prod", "pynomaly-prod-wal", true, []offClusterCopy{dumpCopy, influxCopy, modelsCopy}, "14"},
		{"dev with a bucket", "dev", "pynomaly-wal", false, []offClusterCopy{dumpCopy, influxCopy}, "3"},
		{"staging with a bucket, shared models", "staging", "pynomaly-wal", true, []offClusterCopy{dumpCopy, influxCopy, modelsCopy}, "7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			settings := cfg{}
			if c.bucket != "" && c.env != "prod" {
				settings["postgres"], settings["network"] = bucket, storeCIDRs
			}
			if c.shared {
				settings["storage"] = sharedModels
			}
			st := deploy(t, c.env, settings)
			for _, cp := range []offClusterCopy{dumpCopy, influxCopy, modelsCopy} {
				copied := slices.Contains(c.copies, cp)
				if cp == modelsCopy {
					// The models' CronJob is their copy: it exists only where they are copied.
					if assert.Equal(t, copied, has(st, cronJobType, cp.cron)); !copied {
						continue
					}
				}
				cron := st.One(t, cronJobType, cp.cron)
				if !copied {
					assert.False(t, cron.Has(jobPod+".initContainers"), "%s copies without a bucket", cp.cron)
					continue
				}
				assertCopies(t, cron, cp, "s3://"+c.bucket, c.retentionDays)
			}
		})
	}
}

// jobPod is a CronJob's pod spec.
const jobPod = "spec.jobTemplate.spec.template.spec"

// has says whether the stack has the resource.
func has(st *Stack, typ, name string) bool {
	return slices.ContainsFunc(st.OfType(typ), func(r *Resource) bool { return r.Name == name })
}

// assertCopies checks the copy of one CronJob: the last container, after the pod's own (init
// containers), in the Spilo image with the shared script, to <kind>/<namespace> of the bucket,
// the data read-only, the retention given, and no credential but the store's.
func assertCopies(t *testing.T, cron *Resource, cp offClusterCopy, bucketURL, retentionDays string) {
	t.Helper()
	containers, _ := cron.Get(jobPod + ".containers")
	require.Len(t, containers.ArrayValue(), 1, "%s: the copy runs alone, after the pod's own", cp.cron)
	c := jobPod + ".containers.0"
	assert.Equal(t, cp.container, cron.Str(t, c+".name"))
	assert.Equal(t, "ghcr.io/zalando/spilo-17:4.0-p3", cron.Str(t, c+".image"), "WAL-G's storage tools")
	assert.Equal(t, tier.CopyScript, cron.Str(t, c+".command.2"))
	env := cron.Env(t, c)
	assert.Equal(t, bucketURL+"/"+cp.kind+"/$(POD_NAMESPACE)", env["WALG_S3_PREFIX"])
	assert.Equal(t, "field:metadata.namespace", env["POD_NAMESPACE"])
	assert.Equal(t, cp.dir, env["COPY_DIR"])
	assert.Equal(t, fmt.Sprint(cp.newest), env["COPY_NEWEST"])
	assert.Equal(t, retentionDays, env["RETENTION_DAYS"])
	for name, value := range env {
		assert.NotRegexp(t, `^secret:pynomaly-`, value, "%s: the copy holds %s, a credential of the platform's", cp.cron, name)
	}
	mounted := false
	for i := 0; cron.Has(fmt.Sprintf("%s.volumeMounts.%d", c, i)); i++ {
		m := fmt.Sprintf("%s.volumeMounts.%d", c, i)
		if path := cron.Str(t, m+".mountPath"); path != "/tmp" {
			assert.True(t, cron.Bool(m+".readOnly"), "%s: the copy writes to %s", cp.cron, path)
			mounted = mounted || cp.dir == path || strings.HasPrefix(cp.dir, path+"/")
		}
	}
	assert.True(t, mounted, "%s: %s is not mounted", cp.cron, cp.dir)
	assert.True(t, cron.Bool(c+".securityContext.readOnlyRootFilesystem"))
	assert.True(t, cron.Bool(c+".securityContext.runAsNonRoot"))
	assert.False(t, cron.Bool(c+".securityContext.allowPrivilegeEscalation"))
	assert.True(t, cron.Has(c+".resources.limits.memory"), "the copy has limits")
}

// The models' copy: on the claims' snapshot schedule (UTC), the shared claim mounted read-only,
// as the application's user (who wrote the files), under the cloud identity of the committed
// prod, and let out to the object store only (and DNS).
func TestModelsCopyReadsTheSharedClaimUnderTheCloudIdentity(t *testing.T) {
	st := deploy(t, "prod", cfg{"storage": sharedModels})
	cron := st.One(t, cronJobType, app.ModelsBackupCronJob)
	assert.Equal(t, "0 3 * * *", cron.Str(t, "spec.schedule"))
	assert.Equal(t, "Etc/UTC", cron.Str(t, "spec.timeZone"))
	assert.Equal(t, "Forbid", cron.Str(t, "spec.concurrencyPolicy"))
	claims := 0
	for i := 0; cron.Has(fmt.Sprintf("%s.volumes.%d", jobPod, i)); i++ {
		if v := fmt.Sprintf("%s.volumes.%d", jobPod, i); cron.Has(v + ".persistentVolumeClaim") {
			claims++
			assert.Equal(t, foundation.ModelClaimName, cron.Str(t, v+".persistentVolumeClaim.claimName"))
		}
	}
	assert.Equal(t, 1, claims, "the model claim, and no other")
	assert.Equal(t, 10001, cron.Int(t, jobPod+".securityContext.runAsUser"), "the application's user")
	assert.True(t, st.DependsOn(cron, st.One(t, claimType, foundation.ModelClaimName)))

	account := st.One(t, "kubernetes:core/v1:ServiceAccount", app.ModelsBackupCronJob)
	assert.Equal(t, "arn:aws:iam::123456789012:role/pynomaly-prod-wal", account.StringMap(t, "metadata.annotations")["eks.amazonaws.com/role-arn"])

	policy := st.One(t, "kubernetes:networking.k8s.io/v1:NetworkPolicy", app.ModelsBackupCronJob)
	var out []string
	egress, _ := policy.Get("spec.egress")
	for i := range egress.ArrayValue() {
		rule := fmt.Sprintf("spec.egress.%d", i)
		for j := 0; policy.Has(fmt.Sprintf("%s.to.%d", rule, j)); j++ {
			if to := fmt.Sprintf("%s.to.%d", rule, j); policy.Has(to + ".ipBlock") {
				for k := 0; policy.Has(fmt.Sprintf("%s.ports.%d", rule, k)); k++ {
					out = append(out, fmt.Sprintf("%s:%d", policy.Str(t, to+".ipBlock.cidr"), policy.Int(t, fmt.Sprintf("%s.ports.%d.port", rule, k))))
				}
			}
		}
	}
	assert.Equal(t, []string{"10.0.96.0/20:443"}, out, "the object store's addresses, on its port, and nowhere else outside")
}
