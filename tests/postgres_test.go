package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
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
		strict                                                     bool
	}{
		"dev": {1, "10Gi", "100", "256MB", "4MB", "64MB", "768MB", 1, "50", "200", "3",
			"pynomaly-postgres-service.pynomaly-data-science.svc", false},
		"staging": {2, "50Gi", "200", "512MB", "8MB", "128MB", "1536MB", 2, "80", "500", "7",
			"pynomaly-postgres-replicas.pynomaly-data-science.svc", false},
		// The seed's tuning: 500 connections, shared_buffers 2GB, work_mem 32MB, maintenance 512MB.
		"prod": {3, "200Gi", "500", "2048MB", "32MB", "512MB", "6144MB", 3, "150", "1000", "14",
			"pynomaly-postgres-replicas.pynomaly-data-science.svc", true},
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
			// WAL archiving: on in prod (its stack file names the bucket, which it cannot run
			// without), off until configured elsewhere; base backups on the profile's schedule,
			// kept for its retention.
			if env == "prod" {
				assert.Equal(t, "pynomaly-prod-wal", e["WAL_S3_BUCKET"])
				assert.Equal(t, "true", e["USE_WALG_BACKUP"])
				assert.Equal(t, "0 1,13 * * *", e["BACKUP_SCHEDULE"], "a base backup every 12 hours bounds a restore's WAL replay")
				assert.Equal(t, "14", e["BACKUP_NUM_TO_RETAIN"])
			} else {
				assert.NotContains(t, e, "WAL_S3_BUCKET", "WAL archiving is off until configured")
				assert.NotContains(t, e, "BACKUP_SCHEDULE")
			}
			assert.NotContains(t, e, "CLONE_METHOD", "a cluster bootstraps empty unless postgres.restore says otherwise")

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
				if env == "prod" {
					assert.Equal(t, "on", params["archive_mode"])
					assert.Equal(t, "300", params["archive_timeout"], "at most 5 minutes")
				} else {
					assert.NotContains(t, params, "archive_timeout")
				}
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
			// The exporter logs in as pg_monitor's member, never as the superuser
			// (tests/postgres_setup_server_test.go shows that login's reach on a real server).
			exporterEnv := sts.Env(t, exporter)
			assert.Equal(t, credentials.PostgresMonitorUser, exporterEnv["DATA_SOURCE_USER"])
			assert.Equal(t, "secret:pynomaly-postgres-credentials/monitor-password", exporterEnv["DATA_SOURCE_PASS"])
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
			assert.Equal(t, "0", setup.StringMap(t, "spec.template.metadata.annotations")[credentials.GenerationAnnotation])

			pooler := st.One(t, deploymentType, "pynomaly-postgres-pooler")
			assert.Equal(t, w.poolers, pooler.Int(t, "spec.replicas"))
			assert.True(t, st.DependsOn(pooler, setup), "pooler waits for the setup job")
			bouncer := pooler.Container(t, podSpec, "pgbouncer")
			delay := pooler.Int(t, bouncer+".lifecycle.preStop.sleep.seconds")
			assert.Positive(t, delay, "a stopping pooler accepts clients until its endpoint is gone")
			assert.Greater(t, pooler.Int(t, podSpec+".terminationGracePeriodSeconds"), delay+30, "and then has time to drain")
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
			// The dump; where WAL is archived (prod), an init container before the copy off the
			// cluster.
			dump := bspec + ".containers.0"
			if env == "prod" {
				dump = bspec + ".initContainers.0"
				cp := bspec + ".containers.0"
				assert.Equal(t, "postgres-backup-copy", cron.Str(t, cp+".name"))
				assert.Equal(t, postgres.DumpCopyScript, cron.Str(t, cp+".command.2"))
				assert.Equal(t, "ghcr.io/zalando/spilo-17:4.0-p3", cron.Str(t, cp+".image"), "WAL-G's storage tools")
				cenv := cron.Env(t, cp)
				assert.Equal(t, "s3://pynomaly-prod-wal/pynomaly-dumps/$(POD_NAMESPACE)", cenv["WALG_S3_PREFIX"])
				assert.Equal(t, "field:metadata.namespace", cenv["POD_NAMESPACE"])
				assert.Equal(t, "/backup", cron.Str(t, cp+".volumeMounts.1.mountPath"))
				assert.True(t, cron.Bool(cp+".volumeMounts.1.readOnly"), "the copy only reads the claim")
				assert.NotContains(t, cenv, "PGPASSWORD", "the copy holds no database credential")
			} else {
				assert.False(t, cron.Has(bspec+".initContainers"), "no copy without an object store")
			}
			assert.Equal(t, "postgres-backup", cron.Str(t, dump+".name"))
			bscript := cron.Str(t, dump+".command.2")
			assert.Equal(t, postgres.BackupScript, bscript, "the script the restore drill runs")
			benv := cron.Env(t, dump)
			assert.Equal(t, w.retentionDays, benv["RETENTION_DAYS"])
			assert.Equal(t, "/backup", benv["BACKUP_DIR"])
			assert.Equal(t, "/backup", cron.Str(t, dump+".volumeMounts.1.mountPath"))
			assert.Equal(t, "pynomaly", benv["PGDATABASE"])
			assert.Equal(t, "secret:pynomaly-postgres-credentials/superuser-password", benv["PGPASSWORD"])
			assert.Equal(t, w.backupHost, benv["PGHOST"])
		})
	}
}

// Continuous WAL archiving, for the seed's RPO under 15 minutes, once a bucket is configured.
func TestPostgresWALArchiving(t *testing.T) {
	st := deploy(t, "prod", cfg{
		"identity": noIdentity, "postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal", "region": "eu-west-1", "credentialsSecret": "wal-s3"}}`,
		"network": `{"objectStorageCidrs": ["52.218.0.0/17"]}`,
	})
	sts := st.One(t, statefulSetType, "pynomaly-postgres")
	e := sts.Env(t, sts.Container(t, podSpec, "postgres"))
	assert.Equal(t, "pynomaly-wal", e["WAL_S3_BUCKET"])
	assert.Equal(t, "true", e["USE_WALG_BACKUP"])
	assert.Equal(t, "eu-west-1", e["AWS_REGION"])
	assert.Equal(t, "secret:wal-s3/AWS_SECRET_ACCESS_KEY", e["AWS_SECRET_ACCESS_KEY"])
	assert.True(t, strings.Contains(e["SPILO_CONFIGURATION"], `"archive_timeout":"300"`))
}

// Base backups and their retention follow the profile wherever a bucket is named.
func TestWALArchiveBaseBackupsFollowTheProfile(t *testing.T) {
	archive := cfg{"postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal"}}`, "network": `{"objectStorageCidrs": ["52.218.0.0/17"]}`}
	for env, want := range map[string][2]string{"dev": {"0 1 * * *", "3"}, "staging": {"0 1 * * *", "7"}, "prod": {"0 1,13 * * *", "14"}} {
		st := deploy(t, env, archive)
		sts := st.One(t, statefulSetType, "pynomaly-postgres")
		e := sts.Env(t, sts.Container(t, podSpec, "postgres"))
		assert.Equal(t, want[0], e["BACKUP_SCHEDULE"], env)
		assert.Equal(t, want[1], e["BACKUP_NUM_TO_RETAIN"], env)
	}
}

// postgres.restore bootstraps the cluster from the archive with Spilo's clone from WAL-G: to a
// timestamp, or to the end of the archive; from this namespace's archive or another's.
func TestPostgresRestoreClonesFromTheArchive(t *testing.T) {
	env := func(restore string) map[string]string {
		st := deploy(t, "prod", cfg{"identity": noIdentity, "postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal", "endpoint": "https://minio.example:9000", "credentialsSecret": "wal-s3"}, "restore": ` + restore + `}`,
			"network": `{"objectStorageCidrs": ["203.0.113.0/24"]}`})
		sts := st.One(t, statefulSetType, "pynomaly-postgres")
		return sts.Env(t, sts.Container(t, podSpec, "postgres"))
	}
	e := env(`{"targetTime": "2026-11-25T15:30:00.25+01:00"}`)
	assert.Equal(t, "CLONE_WITH_WALE", e["CLONE_METHOD"])
	assert.Equal(t, "pynomaly-postgres", e["CLONE_SCOPE"])
	assert.Equal(t, "pynomaly-wal", e["CLONE_WAL_S3_BUCKET"])
	assert.Equal(t, "2026-11-25 14:30:00.250000+00", e["CLONE_TARGET_TIME"], "UTC, with its zone, as Spilo requires")
	// The same target as the recovery parameters the point-in-time drill restores with.
	target, _ := time.Parse(time.RFC3339, "2026-11-25T15:30:00.25+01:00")
	assert.Equal(t, postgres.RecoveryParameters("", target)["recovery_target_time"], e["CLONE_TARGET_TIME"])
	// Spilo's archive path holds the namespace: the kubelet expands the pod's own.
	assert.Equal(t, "$(POD_NAMESPACE)-", e["CLONE_WAL_BUCKET_SCOPE_PREFIX"])
	assert.Equal(t, "https://minio.example:9000", e["CLONE_AWS_ENDPOINT"])
	assert.Equal(t, "secret:wal-s3/AWS_SECRET_ACCESS_KEY", e["CLONE_AWS_SECRET_ACCESS_KEY"])
	// The cluster archives on as before: a restore continues on a new timeline.
	assert.Equal(t, "pynomaly-wal", e["WAL_S3_BUCKET"])

	e = env(`{"targetTime": "latest", "fromNamespace": "pynomaly-old"}`)
	assert.Equal(t, "CLONE_WITH_WALE", e["CLONE_METHOD"])
	assert.NotContains(t, e, "CLONE_TARGET_TIME", "latest: every archived segment")
	assert.Equal(t, "pynomaly-old-", e["CLONE_WAL_BUCKET_SCOPE_PREFIX"])
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
