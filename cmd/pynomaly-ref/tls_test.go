package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With internal TLS (tls.internal) and Sentinels in front of the queue, as prod runs: the
// migration reaches PostgreSQL itself with verify-full, API and worker reach the TLS PgBouncer
// with verify-full, the queue through TLS Sentinels to a TLS-only Redis, the cache over TLS;
// every server refuses plain clients, so a task done means every hop was TLS. A CA that did not
// sign the servers' certificates is refused: the CA files are used, not ignored.
func TestAppTierOverInternalTLS(t *testing.T) {
	t.Parallel()
	s := servers(t)
	const password = "tls-s3cret"
	primary := queueServer(t, s, password, true)
	sentinel := sentinelServer(t, s, password, sentinelMaster, primary)
	cachePort := cacheServer(t, s, password, true)
	st := newStack(t, true, password, map[string]endpoint{
		redisQueueHost: {"127.0.0.1", sentinel}, redisCacheHost: {"127.0.0.1", cachePort},
	})
	env := st.env(st.pods.Migration)
	require.Equal(t, "verify-full", env["DATABASE_SSLMODE"])
	require.Equal(t, sentinelMaster, env["REDIS_QUEUE_SENTINEL_MASTER"])

	other, err := newTestCA("another CA")
	require.NoError(t, err)
	otherFile := filepath.Join(st.s.refDir, "other-ca.crt")
	require.NoError(t, os.WriteFile(otherFile, other.pem, 0o644))
	env["DATABASE_SSLROOTCERT"] = otherFile
	code, out := st.migrate(env)
	assert.Equal(t, exitFail, code, "a migration trusting another CA connected:\n%s", out)
	assert.Contains(t, out, "certificate signed by unknown authority")

	code, out = st.migrate(nil)
	require.Equal(t, 0, code, "migration over TLS:\n%s", out)

	apiEnv := st.env(st.pods.API)
	apiEnv["REDIS_CA_CERT"] = otherFile
	_, wrongCA := st.api(apiEnv)
	var body []byte
	assert.NoError(t, waitUntil(5*time.Second, nil, func() bool {
		code, body = call(t, http.MethodGet, wrongCA+healthPath, nil, true)
		require.Equal(t, http.StatusServiceUnavailable, code, "ready with Redis's certificate unverified: %s", body)
		return strings.Contains(string(body), "certificate signed by unknown authority")
	}), "the health check names the certificate: %s", body)

	api, base := st.api(nil)
	awaitReady(t, base, api)
	worker, _ := st.worker()
	tk := submit(t, base, detectionRequest{Values: []float64{1, 1, 2, 1, 40, 1, 2, 1}})
	done := awaitStatus(t, base, tk.ID, "done", 10*time.Second, api, worker)
	var res detectionResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.Len(t, res.Anomalies, 1)
	assert.Equal(t, 4, res.Anomalies[0].Index)

	// The task went through the primary the Sentinels named.
	stats, err := redisClient(t, s, primary, password, true).Info(context.Background(), "commandstats").Result()
	require.NoError(t, err)
	for _, cmd := range []string{"cmdstat_lpush:", "cmdstat_blmove:"} {
		assert.Contains(t, stats, cmd, "the queue's primary served %s", cmd)
	}
}
