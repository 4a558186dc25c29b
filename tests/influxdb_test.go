package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInfluxDBTier(t *testing.T) {
	storage := map[string]string{"dev": "5Gi", "staging": "50Gi", "prod": "500Gi"}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			sts := st.One(t, statefulSetType, "pynomaly-influxdb")
			assert.Equal(t, 1, sts.Int(t, "spec.replicas"))
			assert.Equal(t, storage[env], sts.Str(t, "spec.volumeClaimTemplates.0.spec.resources.requests.storage"))
			assert.Equal(t, env == "prod", sts.Protect)
			c := sts.Container(t, podSpec, "influxdb")
			e := sts.Env(t, c)
			assert.Equal(t, "setup", e["DOCKER_INFLUXDB_INIT_MODE"])
			assert.Equal(t, "30d", e["DOCKER_INFLUXDB_INIT_RETENTION"], "the seed's 30 days of high-resolution data")
			assert.Equal(t, "pynomaly", e["DOCKER_INFLUXDB_INIT_ORG"])
			assert.Equal(t, "metrics", e["DOCKER_INFLUXDB_INIT_BUCKET"])
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-token", e["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"])
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-password", e["DOCKER_INFLUXDB_INIT_PASSWORD"])
			assert.Equal(t, "/health", sts.Str(t, c+".readinessProbe.httpGet.path"))
			assert.True(t, sts.Bool(c+".securityContext.readOnlyRootFilesystem"))
			assert.Equal(t, 8086, st.One(t, serviceType, "pynomaly-influxdb").Int(t, "spec.ports.0.port"))
			assert.Equal(t, 1, st.One(t, pdbType, "pynomaly-influxdb").Int(t, "spec.maxUnavailable"))

			job := st.One(t, jobType, "pynomaly-influxdb-setup")
			assert.True(t, st.DependsOn(job, sts), "the setup job waits for InfluxDB")
			je := job.Env(t, podSpec+".containers.0")
			assert.Equal(t, "secret:pynomaly-influxdb-credentials/admin-token", je["INFLUX_TOKEN"])
			task := je["DOWNSAMPLE_TASK"]
			assert.Contains(t, task, `option task = {name: "downsample-metrics", every: 1h, offset: 5m}`)
			assert.Contains(t, task, `from(bucket: "metrics")`)
			assert.Contains(t, task, `aggregateWindow(every: 5m, fn: mean, createEmpty: false)`)
			assert.Contains(t, task, `to(bucket: "metrics_longterm", org: "pynomaly")`)
			script := job.Str(t, podSpec+".containers.0.command.2")
			assert.Contains(t, script, "--retention 30d")
			assert.Contains(t, script, "--name metrics_longterm --retention 365d")
			assert.Contains(t, script, "influx task update")
		})
	}
}

func TestInfluxDBDoesNotCluster(t *testing.T) {
	_, err := run("prod", cfg{"influxdb": `{"replicas": 2}`})
	assert.ErrorContains(t, err, "stack setting pynomaly-platform:influxdb.replicas = 2: must be 1: InfluxDB OSS does not cluster")
}
