package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const hpaType = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"

// hpaBehavior reads one direction of an HPA's behaviour: window, and its single policy.
func hpaBehavior(t *testing.T, hpa *Resource, dir string) (window int, policy string, value, period int) {
	t.Helper()
	p := "spec.behavior." + dir
	return hpa.Int(t, p+".stabilizationWindowSeconds"), hpa.Str(t, p+".policies.0.type"),
		hpa.Int(t, p+".policies.0.value"), hpa.Int(t, p+".policies.0.periodSeconds")
}

func TestAPITier(t *testing.T) {
	bounds := map[string][2]int{"dev": {1, 2}, "staging": {2, 5}, "prod": {5, 100}}
	limits := map[string][2]string{"dev": {"250m", "256Mi"}, "staging": {"500m", "512Mi"}, "prod": {"1", "1Gi"}}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			d := st.One(t, deploymentType, "pynomaly-api")
			assert.False(t, d.Has("spec.replicas"), "the HPA owns the replica count")

			hpa := st.One(t, hpaType, "pynomaly-api")
			assert.Equal(t, "Deployment", hpa.Str(t, "spec.scaleTargetRef.kind"))
			assert.Equal(t, "pynomaly-api", hpa.Str(t, "spec.scaleTargetRef.name"))
			assert.Equal(t, bounds[env][0], hpa.Int(t, "spec.minReplicas"))
			assert.Equal(t, bounds[env][1], hpa.Int(t, "spec.maxReplicas"))
			assert.Equal(t, "cpu", hpa.Str(t, "spec.metrics.0.resource.name"))
			assert.Equal(t, 70, hpa.Int(t, "spec.metrics.0.resource.target.averageUtilization"))
			assert.Equal(t, "memory", hpa.Str(t, "spec.metrics.1.resource.name"))
			assert.Equal(t, 80, hpa.Int(t, "spec.metrics.1.resource.target.averageUtilization"))
			assert.False(t, hpa.Has("spec.metrics.2"))
			// The seed: up by 100% every 15 s; down by at most 10% every 60 s, stabilised.
			w, typ, v, p := hpaBehavior(t, hpa, "scaleUp")
			assert.Equal(t, []any{0, "Percent", 100, 15}, []any{w, typ, v, p})
			w, typ, v, p = hpaBehavior(t, hpa, "scaleDown")
			assert.Equal(t, []any{300, "Percent", 10, 60}, []any{w, typ, v, p})

			c := d.Container(t, podSpec, "api")
			assert.Equal(t, "ghcr.io/pynomaly/pynomaly-api:1.0.0", d.Str(t, c+".image"))
			for _, probe := range []string{"startupProbe", "readinessProbe"} {
				assert.Equal(t, "/api/v1/health", d.Str(t, c+"."+probe+".httpGet.path"), probe)
				assert.Equal(t, 8000, d.Int(t, c+"."+probe+".httpGet.port"), probe)
			}
			// Alive while it accepts connections: a database outage fails readiness, and
			// must not restart every API pod.
			assert.Equal(t, 8000, d.Int(t, c+".livenessProbe.tcpSocket.port"))
			assert.Equal(t, limits[env][0], d.Str(t, c+".resources.limits.cpu"))
			assert.Equal(t, limits[env][1], d.Str(t, c+".resources.limits.memory"))
			assert.True(t, d.Bool(c+".securityContext.readOnlyRootFilesystem"))
			assert.Equal(t, 10, d.Int(t, c+".lifecycle.preStop.sleep.seconds"))
			assert.Equal(t, 45, d.Int(t, podSpec+".terminationGracePeriodSeconds"))

			e := d.Env(t, c)
			assert.Equal(t, "secret:pynomaly-postgres-credentials/app-password", e["DATABASE_PASSWORD"])
			assert.Equal(t, "secret:pynomaly-redis-credentials/password", e["REDIS_PASSWORD"])
			// The application's own token, never the admin token.
			assert.Equal(t, "secret:pynomaly-influxdb-app-token/token", e["INFLUXDB_TOKEN"])
			assert.Equal(t, "secret:pynomaly-api-credentials/secret-key", e["SECRET_KEY"])
			assert.True(t, strings.HasPrefix(d.Str(t, c+".envFrom.0.configMapRef.name"), "pynomaly-app-config-"))
			assert.Equal(t, "wait-for-postgres", d.Str(t, podSpec+".initContainers.0.name"))
			assert.Equal(t, "wait-for-redis", d.Str(t, podSpec+".initContainers.1.name"))
			assert.Equal(t, "secret:pynomaly-redis-credentials/password", d.Env(t, podSpec+".initContainers.1")["REDISCLI_AUTH"])

			assert.Equal(t, "10%", st.One(t, pdbType, "pynomaly-api").Str(t, "spec.maxUnavailable"))
			svc := st.One(t, serviceType, "pynomaly-api-service")
			assert.Equal(t, map[string]string{"app": "pynomaly", "component": "api"}, svc.StringMap(t, "spec.selector"))
			assert.Equal(t, 8000, svc.Int(t, "spec.ports.0.port"))
			assert.Equal(t, "true", svc.StringMap(t, "metadata.annotations")["prometheus.io/scrape"])
			assert.Equal(t, "8000", d.StringMap(t, "spec.template.metadata.annotations")["prometheus.io/port"])
			assert.Equal(t, "http://pynomaly-api-service.pynomaly-data-science.svc:8000", st.Outputs["api"].ObjectValue()["url"].StringValue())
		})
	}
}

func TestWorkerTier(t *testing.T) {
	bounds := map[string][2]int{"dev": {1, 2}, "staging": {2, 5}, "prod": {3, 50}}
	grace := map[string]int{"dev": 330, "staging": 930, "prod": 3630}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			d := st.One(t, deploymentType, "pynomaly-worker")
			assert.False(t, d.Has("spec.replicas"), "the HPA owns the replica count")
			hpa := st.One(t, hpaType, "pynomaly-worker")
			assert.Equal(t, bounds[env][0], hpa.Int(t, "spec.minReplicas"))
			assert.Equal(t, bounds[env][1], hpa.Int(t, "spec.maxReplicas"))
			assert.Equal(t, 75, hpa.Int(t, "spec.metrics.0.resource.target.averageUtilization"))
			assert.Equal(t, 85, hpa.Int(t, "spec.metrics.1.resource.target.averageUtilization"))
			// The queue depth joins where the level runs the metrics adapter that serves it.
			assert.Equal(t, env != "dev", hpa.Has("spec.metrics.2"), "%s: queue scaling on by default from full on", env)
			w, typ, v, p := hpaBehavior(t, hpa, "scaleDown")
			assert.Equal(t, []any{600, "Percent", 10, 120}, []any{w, typ, v, p})
			// Graceful task cancellation: the longest task plus time to requeue.
			assert.Equal(t, grace[env], d.Int(t, podSpec+".terminationGracePeriodSeconds"))
			c := d.Container(t, podSpec, "worker")
			assert.Equal(t, "/health", d.Str(t, c+".readinessProbe.httpGet.path"))
			assert.Equal(t, "secret:pynomaly-postgres-credentials/app-password", d.Env(t, c)["DATABASE_PASSWORD"])
			assert.Equal(t, "4", d.Env(t, c)["WORKER_CONCURRENCY"])
			assert.Equal(t, "10%", st.One(t, pdbType, "pynomaly-worker").Str(t, "spec.maxUnavailable"))
		})
	}
}

func TestWorkerQueueScaling(t *testing.T) {
	st := deploy(t, "prod", cfg{"worker": `{"queueScaling": {"enabled": true, "targetPerPod": 25}}`})
	hpa := st.One(t, hpaType, "pynomaly-worker")
	assert.Equal(t, "External", hpa.Str(t, "spec.metrics.2.type"))
	assert.Equal(t, "pynomaly_task_queue_depth", hpa.Str(t, "spec.metrics.2.external.metric.name"))
	assert.Equal(t, map[string]string{"key": "pynomaly-tasks"}, hpa.StringMap(t, "spec.metrics.2.external.metric.selector.matchLabels"))
	assert.Equal(t, "AverageValue", hpa.Str(t, "spec.metrics.2.external.target.type"))
	assert.Equal(t, "25", hpa.Str(t, "spec.metrics.2.external.target.averageValue"))
}

// The order of the seed's kubectl steps, as dependency edges the engine waits on: databases
// ready, then migrations, then API and workers.
func TestAppWaitsForDatabasesAndMigrations(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		migrate := st.One(t, jobType, "pynomaly-db-migrate")
		databases := []*Resource{
			st.One(t, statefulSetType, "pynomaly-postgres"),
			st.One(t, jobType, "pynomaly-postgres-setup"),
			st.One(t, deploymentType, "pynomaly-postgres-pooler"),
			st.One(t, statefulSetType, "pynomaly-redis-queue"),
			st.One(t, statefulSetType, "pynomaly-redis-cache"),
			st.One(t, statefulSetType, "pynomaly-influxdb"),
			st.One(t, jobType, "pynomaly-influxdb-setup"),
		}
		for _, db := range databases {
			assert.True(t, st.DependsOn(migrate, db), "%s: migrations wait for %s", env, db.Name)
		}
		for _, name := range []string{"pynomaly-api", "pynomaly-worker"} {
			app := st.One(t, deploymentType, name)
			assert.True(t, st.DependsOn(app, migrate), "%s: %s waits for the migrations", env, name)
			for _, db := range databases {
				assert.True(t, st.DependsOn(app, db), "%s: %s waits for %s", env, name, db.Name)
			}
		}
		assert.True(t, migrate.DeleteBeforeReplace)
		assert.Equal(t, "pynomaly-postgres-service.pynomaly-data-science.svc",
			migrate.Env(t, podSpec+".containers.0")["DATABASE_HOST"], "migrations bypass the transaction pooler")
	}
}
