package tests

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/rotation"
)

// rotated is every environment's stack one rotation of everything on (all: 1): generation 1,
// slot b, with generation 0 still kept.
func rotated(t *testing.T, env string) *Stack {
	return deploy(t, env, cfg{"secrets": `{"rotation": {"all": 1}}`})
}

// A rotation keeps two generations of each rotating credential: the previous one under the
// name it always had (an upgrade keeps it), the new one as a resource of its own. Only the
// current one is protected in prod: the rotation after next deletes the previous one.
func TestRotationKeepsThePreviousGeneration(t *testing.T) {
	for _, env := range envs {
		st := rotated(t, env)
		for _, name := range []string{"postgres-app-password", "redis-password"} {
			prev, cur := st.One(t, passwordType, name), st.One(t, passwordType, name+"-g1")
			assert.False(t, prev.Protect, "%s: %s, the previous generation, is not protected", env, name)
			assert.Equal(t, env == "prod", cur.Protect, "%s: %s-g1 protected like the data", env, name)
		}
		assert.Len(t, st.OfType(passwordType), 17, "%s: fifteen credentials, two of them twice", env)
		pg := st.One(t, secretType, credentials.PostgresSecretName).StringMap(t, "stringData")
		assert.Equal(t, fakeSecret("postgres-app-password", 32), pg["app-password"], "slot a keeps generation 0")
		assert.Equal(t, fakeSecret("postgres-app-password-g1", 32), pg["app-password-b"], "slot b holds generation 1")
		assert.Equal(t, "pynomaly_b", pg["app-username-b"])
		assert.True(t, strings.HasPrefix(pg["app-password-b-scram-sha-256"], "SCRAM-SHA-256$4096:"))
		assert.NotEqual(t, pg["app-password-scram-sha-256"], pg["app-password-b-scram-sha-256"])
		// The pooler answers for both logins, the current one first.
		assert.Equal(t, `"pynomaly_b" "`+fakeSecret("postgres-app-password-g1", 32)+`"`+"\n"+
			`"pynomaly" "`+fakeSecret("postgres-app-password", 32)+`"`+"\n", pg["pgbouncer-userlist"])
		redisSecret := st.One(t, secretType, credentials.RedisSecretName).StringMap(t, "stringData")
		assert.Equal(t, fakeSecret("redis-password", 32), redisSecret["password"], "slot a keeps generation 0")
		assert.Equal(t, fakeSecret("redis-password-g1", 32), redisSecret["password-b"], "slot b holds generation 1")
	}
}

// The next rotation reuses slot a: generation 2 replaces generation 0 there, generation 1 stays.
func TestSecondRotationReusesTheFirstSlot(t *testing.T) {
	st := deploy(t, "prod", cfg{"secrets": `{"rotation": {"redis": 2}}`})
	var names []string
	for _, pw := range st.OfType(passwordType) {
		if strings.HasPrefix(pw.Name, "redis-password") {
			names = append(names, pw.Name)
		}
	}
	assert.ElementsMatch(t, []string{"redis-password-g2", "redis-password-g1"}, names)
	redisSecret := st.One(t, secretType, credentials.RedisSecretName).StringMap(t, "stringData")
	assert.Equal(t, fakeSecret("redis-password-g2", 32), redisSecret["password"])
	assert.Equal(t, fakeSecret("redis-password-g1", 32), redisSecret["password-b"])
	// The application login did not rotate.
	assert.Len(t, st.OfType(passwordType), 16)
	queue := st.One(t, statefulSetType, redis.QueueService)
	e := queue.Env(t, queue.Container(t, podSpec, "topology"))
	assert.Equal(t, "secret:pynomaly-redis-credentials/password", e["REDIS_PASSWORD"])
	assert.Equal(t, "secret:pynomaly-redis-credentials/password-b", e["REDIS_PASSWORD_PREVIOUS"])
	assert.Equal(t, "2", e["REDIS_GENERATION"])
}

// Each template names the keys of the slot its generation is in, and is created only after the
// server it talks to knows that generation: a pod never holds a password no server accepts.
// Checked over every pod template, so a new client of the credentials is held to it too.
func TestRotatedTemplatesWaitForTheServers(t *testing.T) {
	for _, env := range envs {
		st := rotated(t, env)
		setup := st.One(t, jobType, postgres.SetupJob)
		redisServers := []*Resource{st.One(t, statefulSetType, redis.QueueService), st.One(t, statefulSetType, redis.CacheService)}
		clients := 0
		for _, tpl := range st.PodTemplates() {
			for _, c := range tpl.Containers() {
				for name, ref := range tpl.Owner.Env(t, c) {
					switch ref {
					case "secret:pynomaly-postgres-credentials/app-password", "secret:pynomaly-redis-credentials/password":
						if name != "REDIS_PASSWORD_PREVIOUS" {
							assert.Failf(t, "a template names the previous generation", "%s: %s %s %s", env, tpl.Owner.Name, c, name)
						}
					case "secret:pynomaly-postgres-credentials/app-password-b":
						clients++
						assert.True(t, st.DependsOn(tpl.Owner, setup), "%s: %s waits for the setup job to set the login's password", env, tpl.Owner.Name)
						assert.Equal(t, "pynomaly_b", tpl.Owner.Env(t, c)["DATABASE_USER"], "%s: %s %s", env, tpl.Owner.Name, c)
					case "secret:pynomaly-redis-credentials/password-b":
						if tpl.Owner.Type == statefulSetType && strings.HasPrefix(tpl.Owner.Name, "pynomaly-redis-") {
							continue // the servers themselves, which accept both
						}
						clients++
						for _, s := range redisServers {
							assert.True(t, st.DependsOn(tpl.Owner, s), "%s: %s waits for %s to accept the new password", env, tpl.Owner.Name, s.Name)
						}
					}
				}
			}
		}
		assert.GreaterOrEqual(t, clients, 6, "%s: API, workers and migration hold both credentials", env)
		assert.Equal(t, "pynomaly_b", setup.Env(t, setup.Container(t, podSpec, "postgres-setup"))["APP_USER"])
		pooler := st.One(t, deploymentType, postgres.PoolerName)
		assert.True(t, st.DependsOn(pooler, setup), "%s: the pooler rolls to the new user list after the setup job", env)
		assert.Equal(t, "1", pooler.StringMap(t, "spec.template.metadata.annotations")[credentials.GenerationAnnotation])
		for _, app := range []*Resource{st.One(t, deploymentType, app.APIName), st.One(t, deploymentType, app.WorkerName),
			st.One(t, jobType, app.MigrationJobName)} {
			assert.True(t, st.DependsOn(app, pooler), "%s: %s rolls after the pooler", env, app.Name)
		}
	}
}

// The previous password is retired only after every client rolled and the settled generation is
// recorded (which itself waits for the clients).
func TestRetirementAfterEveryClient(t *testing.T) {
	for _, env := range envs {
		st := rotated(t, env)
		settled := st.One(t, secretType, credentials.SettledSecret)
		assert.Equal(t, "1", settled.StringMap(t, "stringData")[credentials.SettledRedisKey])
		for _, client := range []*Resource{st.One(t, deploymentType, app.APIName), st.One(t, deploymentType, app.WorkerName)} {
			assert.True(t, st.DependsOn(settled, client), "%s: settled only after %s rolled", env, client.Name)
		}
		for _, name := range []string{rotation.PostgresRetireJob, rotation.RedisRetireJob} {
			job := st.One(t, jobType, name)
			for _, client := range []*Resource{
				st.One(t, deploymentType, app.APIName), st.One(t, deploymentType, app.WorkerName),
				st.One(t, jobType, app.MigrationJobName), st.One(t, deploymentType, postgres.PoolerName),
				st.One(t, statefulSetType, redis.QueueService), st.One(t, statefulSetType, redis.CacheService),
			} {
				assert.True(t, st.DependsOn(job, client), "%s: %s waits for %s to roll", env, name, client.Name)
			}
			assert.True(t, st.DependsOn(job, settled), "%s: %s runs after the settled generation is written", env, name)
			assert.Equal(t, "1", job.StringMap(t, "spec.template.metadata.annotations")[credentials.GenerationAnnotation])
		}
		pgRetire := st.One(t, jobType, rotation.PostgresRetireJob)
		assert.Equal(t, "pynomaly", pgRetire.Env(t, pgRetire.Container(t, podSpec, "postgres-retire"))["OLD_LOGIN"])
		redisRetire := st.One(t, jobType, rotation.RedisRetireJob)
		e := redisRetire.Env(t, redisRetire.Container(t, podSpec, "redis-retire"))
		assert.Equal(t, "secret:pynomaly-redis-credentials/admin-password", e["REDISCLI_AUTH"])
		assert.Equal(t, "secret:pynomaly-redis-credentials/password-b", e["REDIS_PASSWORD"], "the current generation's slot")
		queue := st.One(t, statefulSetType, redis.QueueService).Int(t, "spec.replicas")
		cache := st.One(t, statefulSetType, redis.CacheService).Int(t, "spec.replicas")
		assert.Len(t, strings.Fields(e["REDIS_TARGETS"]), queue+cache, "%s: every Redis pod", env)
	}
	// Before any rotation there is nothing to retire from PostgreSQL. Redis's job settles the
	// users (an upgraded stack's servers), with no previous generation to wait for and so no
	// access to the Kubernetes API.
	st := deploy(t, "dev", nil)
	for _, j := range st.OfType(jobType) {
		assert.NotEqual(t, rotation.PostgresRetireJob, j.Name)
	}
	redisRetire := st.One(t, jobType, rotation.RedisRetireJob)
	assert.False(t, redisRetire.Has(podSpec+".initContainers"), "nothing to wait for")
	assert.False(t, redisRetire.Bool(podSpec+".automountServiceAccountToken"), "no access to the Kubernetes API")
	settled := st.One(t, secretType, credentials.SettledSecret).StringMap(t, "stringData")
	assert.Equal(t, credentials.RedisUsersVersion, settled[credentials.SettledRedisUsersKey])
}

// A retirement waits, before it runs, for the last client pod of the previous generation to be
// gone: a stopping worker finishes its task with the previous password. The clients' pods carry
// their generations as labels; the job's init container watches for them, no longer than the
// clients' longest grace period, with a Role that may only read pods.
func TestRetirementWaitsForThePreviousGenerationsPods(t *testing.T) {
	for _, env := range envs {
		st := rotated(t, env)
		var longestGrace int
		for _, name := range []string{app.APIName, app.WorkerName} {
			d := st.One(t, deploymentType, name)
			labels := d.StringMap(t, "spec.template.metadata.labels")
			assert.Equal(t, "1", labels[credentials.PostgresAppGenerationLabel], "%s: %s's pods hold login generation 1", env, name)
			assert.Equal(t, "1", labels[credentials.RedisGenerationLabel], "%s: %s's pods hold Redis generation 1", env, name)
			assert.NotContains(t, d.StringMap(t, "spec.selector.matchLabels"), credentials.PostgresAppGenerationLabel, "%s: the selector is immutable", env)
			longestGrace = max(longestGrace, d.Int(t, podSpec+".terminationGracePeriodSeconds"))
		}
		for job, label := range map[string]string{
			rotation.PostgresRetireJob: credentials.PostgresAppGenerationLabel,
			rotation.RedisRetireJob:    credentials.RedisGenerationLabel,
		} {
			r := st.One(t, jobType, job)
			wait := r.Container(t, podSpec, "wait-for-previous-clients")
			require.True(t, strings.Contains(wait, "initContainers"), "%s: %s waits before its container runs", env, job)
			e := r.Env(t, wait)
			assert.Equal(t, label, e["GENERATION_LABEL"], "%s: %s", env, job)
			assert.Equal(t, "0", e["PREVIOUS_GENERATION"], "%s: %s", env, job)
			drain := mustAtoi(t, e["DRAIN_SECONDS"])
			assert.Greater(t, drain, longestGrace, "%s: %s waits past the clients' longest grace period", env, job)
			assert.Greater(t, r.Int(t, "spec.activeDeadlineSeconds"), drain, "%s: %s may wait that long and still retire", env, job)
			assert.Equal(t, []string{"/pods/get,list,watch"}, rules(t, st.One(t, roleType, job)), "%s: %s", env, job)
			assert.Equal(t, []string{"ServiceAccount:" + job}, subjects(t, st.One(t, roleBindingType, job)), env)
		}
	}
	// The worker's grace period follows its longest task, and the wait with it.
	st := deploy(t, "dev", cfg{"secrets": `{"rotation": {"all": 1}}`, "worker": `{"taskTimeoutSeconds": 1200}`})
	e := st.One(t, jobType, rotation.PostgresRetireJob)
	assert.Greater(t, mustAtoi(t, e.Env(t, e.Container(t, podSpec, "wait-for-previous-clients"))["DRAIN_SECONDS"]), 1200)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// A preview refuses a rotation of more than one generation since the last deployment, or back.
func TestRotationMovesOneGenerationPerDeployment(t *testing.T) {
	deployed := func(generations map[string]float64) resource.PropertyMap {
		out := resource.PropertyMap{"namespace": resource.NewStringProperty("pynomaly-data-science")}
		if generations != nil {
			g := resource.PropertyMap{}
			for k, v := range generations {
				g[resource.PropertyKey(k)] = resource.NewNumberProperty(v)
			}
			out["credentialGenerations"] = resource.NewObjectProperty(g)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		previous resource.PropertyMap
		rotation string
		want     string
	}{
		{"first rotation of a stack deployed before rotation existed", deployed(nil), `{"all": 1}`, ""},
		{"two at once", deployed(nil), `{"redis": 2}`, "secrets.rotation = redis generation 2: must be 0 (as deployed) or 1 (one rotation)"},
		{"next rotation", deployed(map[string]float64{"postgresApp": 1, "redis": 1}), `{"all": 1, "postgresApp": 1}`, ""},
		{"back", deployed(map[string]float64{"postgresApp": 1, "redis": 1}), `{"redis": 1}`, "secrets.rotation = postgresApp generation 0: must be 1 (as deployed) or 2"},
		{"a new stack starts anywhere", nil, `{"all": 3}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runAfter(tc.previous, "staging", cfg{"secrets": `{"rotation": ` + tc.rotation + `}`})
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
