package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/components"
)

const (
	statefulSetType = "kubernetes:apps/v1:StatefulSet"
	deploymentType  = "kubernetes:apps/v1:Deployment"
	serviceType     = "kubernetes:core/v1:Service"
	pdbType         = "kubernetes:policy/v1:PodDisruptionBudget"
	jobType         = "kubernetes:batch/v1:Job"
	cronJobType     = "kubernetes:batch/v1:CronJob"
	podSpec         = "spec.template.spec"
)

func TestPostgresTier(t *testing.T) {
	want := map[string]struct {
		replicas                                                   int
		storage                                                    string
		maxConn, sharedBuffers, workMem, maintenanceWorkMem, cache string
		poolers                                                    int
		poolSize, maxClients                                       string
		retentionDays                                              string
		backupHost                                                 string
		protect, strict                                            bool
	}{
		"dev": {1, "10Gi", "100", "256MB", "4MB", "64MB", "768MB", 1, "50", "200", "3",
			"pynomaly-postgres-service.pynomaly-data-science.svc", false, false},
		"staging": {2, "50Gi", "200", "512MB", "8MB", "128MB", "1536MB", 2, "80", "500", "7",
			"pynomaly-postgres-replicas.pynomaly-data-science.svc", false, false},
		// The seed's tuning: 500 connections, shared_buffers 2GB, work_mem 32MB, maintenance 512MB.
		"prod": {3, "200Gi", "500", "2048MB", "32MB", "512MB", "6144MB", 3, "150", "1000", "14",
			"pynomaly-postgres-replicas.pynomaly-data-science.svc", true, true},
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			w := want[env]

			sts := st.One(t, statefulSetType, "pynomaly-postgres")
			assert.Equal(t, "pynomaly-postgres", sts.Str(t, "metadata.name"))
			assert.Equal(t, w.replicas, sts.Int(t, "spec.replicas"))
			assert.Equal(t, "pynomaly-postgres-headless", sts.Str(t, "spec.serviceName"))
			assert.Equal(t, w.storage, sts.Str(t, "spec.volumeClaimTemplates.0.spec.resources.requests.storage"))
			assert.Equal(t, "pynomaly-ssd", sts.Str(t, "spec.volumeClaimTemplates.0.spec.storageClassName"))
			assert.Equal(t, "Retain", sts.Str(t, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"))
			assert.Equal(t, "Retain", sts.Str(t, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"))
			assert.Equal(t, w.protect, sts.Protect)
			assert.Equal(t, w.protect, sts.RetainOnDelete)
			assert.Equal(t, "20m", sts.CreateTimeout)
			assert.Equal(t, "pynomaly-postgres", sts.Str(t, podSpec+".serviceAccountName"))

			pg := sts.Container(t, podSpec, "postgres")
			e := sts.Env(t, pg)
			assert.Equal(t, "ghcr.io/zalando/spilo-17:4.0-p3", sts.Str(t, pg+".image"))
			assert.Equal(t, "pynomaly-postgres", e["SCOPE"])
			assert.Equal(t, "true", e["KUBERNETES_USE_CONFIGMAPS"])
			assert.Equal(t, "primary", e["PATRONI_KUBERNETES_LEADER_LABEL_VALUE"])
			assert.Equal(t, "secret:pynomaly-postgres-credentials/superuser-password", e["PGPASSWORD_SUPERUSER"])
			assert.Equal(t, "secret:pynomaly-postgres-credentials/replication-password", e["PGPASSWORD_STANDBY"])
			assert.NotContains(t, e, "WAL_S3_BUCKET", "WAL archiving is off until configured")

			var spilo struct {
				Bootstrap struct {
					DCS struct {
						SynchronousMode bool `json:"synchronous_mode"`
						Postgresql      struct {
							Parameters map[string]string `json:"parameters"`
						} `json:"postgresql"`
					} `json:"dcs"`
				} `json:"bootstrap"`
				Postgresql struct {
					Parameters map[string]string `json:"parameters"`
				} `json:"postgresql"`
			}
			require.NoError(t, json.Unmarshal([]byte(e["SPILO_CONFIGURATION"]), &spilo))
			// Synchronous replication where a replica can take the commit (staging and prod).
			assert.Equal(t, w.replicas > 1, spilo.Bootstrap.DCS.SynchronousMode)
			for _, params := range []map[string]string{spilo.Bootstrap.DCS.Postgresql.Parameters, spilo.Postgresql.Parameters} {
				assert.Equal(t, w.maxConn, params["max_connections"])
				assert.Equal(t, w.sharedBuffers, params["shared_buffers"])
				assert.Equal(t, w.workMem, params["work_mem"])
				assert.Equal(t, w.maintenanceWorkMem, params["maintenance_work_mem"])
				assert.Equal(t, w.cache, params["effective_cache_size"])
			}

			assert.Equal(t, "/readiness", sts.Str(t, pg+".readinessProbe.httpGet.path"))
			assert.Equal(t, 8008, sts.Int(t, pg+".readinessProbe.httpGet.port"))
			assert.Equal(t, "/liveness", sts.Str(t, pg+".livenessProbe.httpGet.path"))
			exporter := sts.Container(t, podSpec, "exporter")
			assert.Equal(t, "secret:pynomaly-postgres-credentials/superuser-password", sts.Env(t, exporter)["DATA_SOURCE_PASS"])
			assert.Equal(t, "9187", sts.StringMap(t, "spec.template.metadata.annotations")["prometheus.io/port"])

			// Spread: required on distinct nodes and zones in prod, preferred elsewhere.
			if w.strict {
				assert.Equal(t, "kubernetes.io/hostname", sts.Str(t, podSpec+".affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.topologyKey"))
				assert.Equal(t, "DoNotSchedule", sts.Str(t, podSpec+".topologySpreadConstraints.0.whenUnsatisfiable"))
			} else {
				assert.Equal(t, "kubernetes.io/hostname", sts.Str(t, podSpec+".affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.topologyKey"))
				assert.Equal(t, "ScheduleAnyway", sts.Str(t, podSpec+".topologySpreadConstraints.0.whenUnsatisfiable"))
			}
			assert.Equal(t, "topology.kubernetes.io/zone", sts.Str(t, podSpec+".topologySpreadConstraints.0.topologyKey"))

			// Services: the seed's name is always the primary; replicas and headless beside it.
			base := map[string]string{"app": "pynomaly", "component": "postgres", "cluster-name": "pynomaly-postgres"}
			for name, role := range map[string]string{"pynomaly-postgres-service": "primary", "pynomaly-postgres-replicas": "replica", "pynomaly-postgres-headless": ""} {
				svc := st.One(t, serviceType, name)
				sel := map[string]string{}
				for k, v := range base {
					sel[k] = v
				}
				if role != "" {
					sel["spilo-role"] = role
				}
				assert.Equal(t, sel, svc.StringMap(t, "spec.selector"), name)
				assert.Equal(t, 5432, svc.Int(t, "spec.ports.0.port"), name)
			}
			assert.Equal(t, "None", st.One(t, serviceType, "pynomaly-postgres-headless").Str(t, "spec.clusterIP"))
			assert.Equal(t, base, sts.StringMap(t, "spec.selector.matchLabels"))
			assert.Equal(t, "pynomaly-postgres", sts.StringMap(t, "spec.template.metadata.labels")["cluster-name"])

			assert.Equal(t, 1, st.One(t, pdbType, "pynomaly-postgres").Int(t, "spec.maxUnavailable"))

			// Patroni's API access (its rules: rbac_test.go).
			assert.True(t, st.DependsOn(sts, st.One(t, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "pynomaly-postgres")))

			// Setup after the StatefulSet is ready; pooler after setup.
			setup := st.One(t, jobType, "pynomaly-postgres-setup")
			assert.True(t, st.DependsOn(setup, sts), "setup waits for the StatefulSet")
			assert.True(t, setup.DeleteBeforeReplace)
			script := setup.Str(t, podSpec+".containers.0.command.2")
			assert.Contains(t, script, "CREATE ROLE")
			assert.Contains(t, script, "CREATE DATABASE")
			assert.Contains(t, script, "PATCH")
			se := setup.Env(t, podSpec+".containers.0")
			// The password reaches PostgreSQL only as its verifier; Patroni's PATCH authenticates.
			assert.Equal(t, "secret:pynomaly-postgres-credentials/app-password-scram-sha-256", se["APP_PASSWORD_VERIFIER"])
			assert.NotContains(t, se, "APP_PASSWORD")
			assert.Equal(t, "secret:pynomaly-postgres-credentials/patroni-api-username", se["PATRONI_RESTAPI_USERNAME"])
			assert.Equal(t, "secret:pynomaly-postgres-credentials/patroni-api-password", se["PATRONI_RESTAPI_PASSWORD"])
			// Spilo passes these to Patroni, which then asks for them on its unsafe methods.
			pe := sts.Env(t, sts.Container(t, podSpec, "postgres"))
			assert.Equal(t, se["PATRONI_RESTAPI_USERNAME"], pe["PATRONI_RESTAPI_USERNAME"])
			assert.Equal(t, se["PATRONI_RESTAPI_PASSWORD"], pe["PATRONI_RESTAPI_PASSWORD"])
			assert.Contains(t, se["PATRONI_DYNAMIC_CONFIG"], `"max_connections":"`+w.maxConn+`"`)
			assert.Contains(t, se["PATRONI_DYNAMIC_CONFIG"], fmt.Sprintf(`"synchronous_mode":%t`, w.replicas > 1),
				"a change of the replication mode reaches a running cluster")
			assert.Equal(t, "0", setup.StringMap(t, "spec.template.metadata.annotations")[components.GenerationAnnotation])

			pooler := st.One(t, deploymentType, "pynomaly-postgres-pooler")
			assert.Equal(t, w.poolers, pooler.Int(t, "spec.replicas"))
			assert.True(t, st.DependsOn(pooler, setup), "pooler waits for the setup job")
			ini := st.One(t, configMapType, "pynomaly-postgres-pooler").StringMap(t, "data")["pgbouncer.ini"]
			assert.Contains(t, ini, "pool_mode = transaction")
			assert.Contains(t, ini, "default_pool_size = "+w.poolSize+"\n")
			assert.Contains(t, ini, "max_client_conn = "+w.maxClients+"\n")
			assert.Contains(t, ini, "host=pynomaly-postgres-service.pynomaly-data-science.svc port=5432")
			assert.Equal(t, "pgbouncer-userlist", pooler.Str(t, podSpec+".volumes.1.secret.items.0.key"))
			assert.Equal(t, 5432, st.One(t, serviceType, "pynomaly-postgres-pooler").Int(t, "spec.ports.0.port"))

			// The seed's daily backup at 02:00, to the backup claim, with retention and a deadline.
			cron := st.One(t, cronJobType, "pynomaly-postgres-backup")
			assert.Equal(t, "0 2 * * *", cron.Str(t, "spec.schedule"))
			assert.Equal(t, "Etc/UTC", cron.Str(t, "spec.timeZone"))
			assert.Equal(t, "Forbid", cron.Str(t, "spec.concurrencyPolicy"))
			assert.Equal(t, 10800, cron.Int(t, "spec.jobTemplate.spec.activeDeadlineSeconds"))
			bspec := "spec.jobTemplate.spec.template.spec"
			assert.Equal(t, "pynomaly-backups", cron.Str(t, bspec+".volumes.1.persistentVolumeClaim.claimName"))
			bscript := cron.Str(t, bspec+".containers.0.command.2")
			assert.Equal(t, components.PostgresBackupScript, bscript, "the script the restore drill runs")
			benv := cron.Env(t, bspec+".containers.0")
			assert.Equal(t, w.retentionDays, benv["RETENTION_DAYS"])
			assert.Equal(t, "/backup", benv["BACKUP_DIR"])
			assert.Equal(t, "/backup", cron.Str(t, bspec+".containers.0.volumeMounts.1.mountPath"))
			assert.Equal(t, "pynomaly", benv["PGDATABASE"])
			assert.Equal(t, "secret:pynomaly-postgres-credentials/superuser-password", benv["PGPASSWORD"])
			assert.Equal(t, w.backupHost, benv["PGHOST"])
		})
	}
}

// Continuous WAL archiving, for the seed's RPO under 15 minutes, once a bucket is configured.
func TestPostgresWALArchiving(t *testing.T) {
	st := deploy(t, "prod", cfg{
		"postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal", "region": "eu-west-1", "credentialsSecret": "wal-s3"}}`,
		"network":  `{"objectStorageCidrs": ["52.218.0.0/17"]}`,
	})
	sts := st.One(t, statefulSetType, "pynomaly-postgres")
	e := sts.Env(t, sts.Container(t, podSpec, "postgres"))
	assert.Equal(t, "pynomaly-wal", e["WAL_S3_BUCKET"])
	assert.Equal(t, "true", e["USE_WALG_BACKUP"])
	assert.Equal(t, "eu-west-1", e["AWS_REGION"])
	assert.Equal(t, "secret:wal-s3/AWS_SECRET_ACCESS_KEY", e["AWS_SECRET_ACCESS_KEY"])
	assert.True(t, strings.Contains(e["SPILO_CONFIGURATION"], `"archive_timeout":"300"`))
}

// The data tier's objects wait for the secrets and storage they use.
func TestPostgresWaitsForSecretsAndStorage(t *testing.T) {
	st := deploy(t, "staging", nil)
	sts := st.One(t, statefulSetType, "pynomaly-postgres")
	assert.True(t, st.DependsOn(sts, st.One(t, secretType, "pynomaly-postgres-credentials")))
	assert.True(t, st.DependsOn(sts, st.One(t, storageClassType, "pynomaly-ssd")))
	cron := st.One(t, cronJobType, "pynomaly-postgres-backup")
	assert.True(t, st.DependsOn(cron, st.One(t, claimType, "pynomaly-backups")))
}
