package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The app tier's life, plain (no internal TLS, Redis without Sentinel), every process run with
// its pod's argv, environment and user: the API refuses work until the migration has run; the
// migration creates the schema and changes nothing the second time; a detection posted to the
// API is written, read back and queued; a worker takes it and its status turns done; the
// metrics the platform's alerts and dashboards query are there; SIGTERM ends every process
// cleanly.
func TestAppTierLifecycle(t *testing.T) {
	t.Parallel()
	s := servers(t)
	const password = "queue-s3cret"
	queuePort, cachePort := queueServer(t, s, password, false), cacheServer(t, s, password, false)
	st := newStack(t, false, password, map[string]endpoint{
		redisQueueHost: {"127.0.0.1", queuePort}, redisCacheHost: {"127.0.0.1", cachePort},
	})
	queue, cache := redisClient(t, s, queuePort, password, false), redisClient(t, s, cachePort, password, false)
	queueName := st.pods.ConfigMap["TASK_QUEUE_NAME"]
	db := s.superuser(t, st.db)
	ctx := context.Background()

	api, base := st.api(nil)
	code, body := call(t, http.MethodGet, base+healthPath, nil, true)
	assert.Equal(t, http.StatusServiceUnavailable, code, "ready before the migration: %s", body)
	code, body = call(t, http.MethodPost, base+detectionsPath, detectionRequest{Values: []float64{1, 2}}, false)
	assert.Equal(t, http.StatusServiceUnavailable, code, "served before the migration: %s", body)
	assert.Contains(t, string(body), "alembic upgrade head")
	migrateTwice(t, st, db)
	awaitReady(t, base, api)

	tk := submit(t, base, detectionRequest{Values: []float64{10, 11, 9, 10, 12, 10, 11, 95, 10, 9}})
	assertStoredAndQueued(t, db, queue, queueName, tk)

	worker, metricsURL := st.worker()
	done := awaitStatus(t, base, tk.ID, "done", 10*time.Second, api, worker)
	var res detectionResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.Len(t, res.Anomalies, 1, "%s", done.Result)
	assert.Equal(t, 7, res.Anomalies[0].Index)
	assert.Equal(t, 1, done.Attempts)
	// The worker acknowledges (drops it from the processing list) after recording the outcome.
	assert.NoError(t, waitUntil(5*time.Second, worker, func() bool {
		return queue.LLen(ctx, queueName).Val() == 0 && queue.LLen(ctx, queueName+":processing").Val() == 0
	}), "the task left the queue and the processing list")
	cached, err := cache.Exists(ctx, (&taskCache{prefix: st.pods.ConfigMap["REDIS_CACHE_KEY_PREFIX"]}).key(tk.ID)).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), cached, "the finished task is in the cache Redis")
	_, err = os.Stat(filepath.Join(st.models, modelFile))
	assert.NoError(t, err, "the model is saved on the model volume")

	code, body = call(t, http.MethodGet, metricsURL+workerHealthPath, nil, true)
	assert.Equal(t, http.StatusOK, code, "worker readiness: %s", body)
	call(t, http.MethodGet, base+tasksPath+"00000000-0000-0000-0000-000000000000", nil, false) // a 404 among the statuses
	checkAppMetrics(t, st, map[string]string{"api": scrape(t, base), "worker": scrape(t, metricsURL)})

	for _, p := range []*proc{api, worker} {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 0, p.wait(10*time.Second), "%s exits 0 at SIGTERM:\n%s", p.name, p.out)
	}
	assertNoSecretLogged(t, st, api, worker)
}

// migrateTwice runs the migration Job's container twice: the schema is at head, its table
// owned by the application's owner role, and the second run changes nothing.
func migrateTwice(t *testing.T, st *stack, db *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	code, out := st.migrate(nil)
	require.Equal(t, 0, code, "migration: %s", out)
	var version string
	require.NoError(t, db.QueryRow(ctx, "SELECT version_num FROM alembic_version").Scan(&version))
	assert.Equal(t, headRevision, version)
	var owner string
	require.NoError(t, db.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'detection_tasks'").Scan(&owner))
	assert.Equal(t, "pynomaly", owner, "the table belongs to the application's owner role, whichever login ran the migration")
	code, out = st.migrate(nil)
	require.Equal(t, 0, code, "second migration: %s", out)
	assert.Contains(t, out, "already at head")
	var versions int
	require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM alembic_version").Scan(&versions))
	assert.Equal(t, 1, versions)

	// An older image after a newer release migrated (an image rolled back across a migration):
	// the migration stops and says why, so the rollback's pulumi up stops at the migration job
	// before any API pod runs against a schema its image does not know (docs/operations.md).
	_, err := db.Exec(ctx, "UPDATE alembic_version SET version_num = '9999_newer_release'")
	require.NoError(t, err)
	code, out = st.migrate(nil)
	assert.NotEqual(t, 0, code, "an unknown revision: %s", out)
	assert.Contains(t, out, `the database is at revision \"9999_newer_release\", which this image does not know`, "in the JSON log")
	_, err = db.Exec(ctx, "UPDATE alembic_version SET version_num = $1", headRevision)
	require.NoError(t, err)
}

// assertStoredAndQueued: the task the API answered is the row in PostgreSQL, and its id waits
// on the queue for the workers.
func assertStoredAndQueued(t *testing.T, db *pgx.Conn, queue *redis.Client, queueName string, tk task) {
	t.Helper()
	ctx := context.Background()
	assert.Equal(t, "queued", tk.Status)
	assert.JSONEq(t, `{"values": [10, 11, 9, 10, 12, 10, 11, 95, 10, 9], "threshold": 3.5}`, string(tk.Payload))
	var status string
	var payload []byte
	require.NoError(t, db.QueryRow(ctx, "SELECT status, payload FROM detection_tasks WHERE id = $1", tk.ID).Scan(&status, &payload))
	assert.Equal(t, "queued", status, "the row is in PostgreSQL")
	assert.JSONEq(t, string(tk.Payload), string(payload))
	waiting, err := queue.LRange(ctx, queueName, 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{tk.ID}, waiting, "queued on %s for the workers", queueName)
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	code, body := call(t, http.MethodGet, base+metricsPath, nil, false)
	require.Equal(t, http.StatusOK, code)
	return string(body)
}

// checkAppMetrics: every application metric the platform queries is exposed, with the labels
// the queries use, by the pods it selects (by component label; either for pynomaly_* metrics
// without one), and no series carries a label the scrape sets.
func checkAppMetrics(t *testing.T, st *stack, exposed map[string]string) {
	t.Helper()
	components := map[string]string{
		st.pods.API.Metadata.Labels["component"]:    exposed["api"],
		st.pods.Worker.Metadata.Labels["component"]: exposed["worker"],
	}
	require.Len(t, components, 2, "the API's and workers' pods have component labels of their own")
	queried := appMetrics(t, st.pods.API.Metadata.Labels["component"], st.pods.Worker.Metadata.Labels["component"])
	require.NotEmpty(t, queried)
	names := map[string]bool{}
	for _, m := range queried {
		text := components[m.component]
		if m.component == "" {
			text = exposed["api"] + exposed["worker"]
		}
		found := slices.ContainsFunc(parseExposition(text), func(s sample) bool {
			if s.name != m.name {
				return false
			}
			for _, l := range m.labels {
				if _, ok := s.labels[l]; !ok {
					return false
				}
			}
			return true
		})
		assert.True(t, found, "%s with labels %v (queried by %s) is not exposed by %q", m.name, m.labels, m.query, m.component)
		names[m.name] = true
	}
	t.Logf("application metrics the platform queries: %v", slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	}))
	for which, text := range exposed {
		for _, s := range parseExposition(text) {
			for _, l := range targetLabels[:5] {
				assert.NotContains(t, s.labels, l, "%s: %s carries %s, which the scrape sets", which, s.name, l)
			}
		}
	}
}

// assertNoSecretLogged: no credential the pods hold appears in any process's output.
func assertNoSecretLogged(t *testing.T, st *stack, procs ...*proc) {
	t.Helper()
	for _, p := range procs {
		for key, secret := range st.secrets {
			assert.False(t, strings.Contains(p.out.String(), secret), "%s logged the secret %s", p.name, key)
		}
	}
}
