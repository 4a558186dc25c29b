package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The modes by argv: the migration Job's `alembic upgrade head` and nothing else as alembic.
func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		mode string
	}{
		{[]string{"/usr/local/bin/pynomaly-ref", "api"}, modeAPI},
		{[]string{"pynomaly-ref", "worker", "-lease", "5s"}, modeWorker},
		{[]string{"pynomaly-ref", "migrate"}, modeMigrate},
		{[]string{"alembic", "upgrade", "head"}, modeMigrate},
		{[]string{"/usr/local/bin/alembic", "upgrade", "head"}, modeMigrate},
		{[]string{"pynomaly-ref", "alembic", "upgrade", "head"}, modeMigrate},
		{[]string{"alembic", "downgrade", "-1"}, ""},
		{[]string{"alembic", "upgrade", "head", "--sql"}, ""},
		{[]string{"pynomaly-ref"}, ""},
		{[]string{"pynomaly-ref", "serve"}, ""},
	} {
		mode, _, err := parseMode(tc.argv)
		assert.Equal(t, tc.mode, mode, "%q", tc.argv)
		assert.Equal(t, tc.mode == "", errors.Is(err, errUsage), "%q: %v", tc.argv, err)
	}
}

// The TLS variables are used as the ConfigMap sets them, and contradictions are refused: a
// verifying sslmode without its CA, REDIS_TLS without REDIS_CA_CERT, REDIS_SCHEME against
// REDIS_TLS.
func TestSettingsTLS(t *testing.T) {
	base := map[string]string{
		"DATABASE_HOST": "db", "DATABASE_PORT": "5432", "DATABASE_NAME": "pynomaly", "DATABASE_USER": "u", "DATABASE_PASSWORD": "p",
		"REDIS_QUEUE_HOST": "q", "REDIS_QUEUE_PORT": "6379", "REDIS_CACHE_HOST": "c", "REDIS_CACHE_PORT": "6379",
		"REDIS_USERNAME": "u", "REDIS_PASSWORD": "p", "REDIS_CACHE_KEY_PREFIX": "c:", "TASK_QUEUE_NAME": "pynomaly-tasks", "MODEL_STORAGE_PATH": "/models",
		"WORKER_CONCURRENCY": "4", "TASK_TIMEOUT_SECONDS": "300",
	}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	s, _, err := readSettings(modeWorker, lookupIn(base))
	require.NoError(t, err)
	assert.Equal(t, "prefer", s.DB.SSLMode, "libpq's default")
	assert.False(t, s.RedisTLS)

	s, _, err = readSettings(modeWorker, lookupIn(with(map[string]string{
		"DATABASE_SSLMODE": "verify-full", "DATABASE_SSLROOTCERT": "/ca", "REDIS_TLS": "true", "REDIS_SCHEME": "rediss", "REDIS_CA_CERT": "/ca",
	})))
	require.NoError(t, err)
	assert.Equal(t, "/ca", s.DB.SSLRootCert)
	assert.True(t, s.RedisTLS)

	for _, bad := range []map[string]string{
		{"DATABASE_SSLMODE": "verify-full"},
		{"REDIS_TLS": "true", "REDIS_SCHEME": "rediss"},
		{"REDIS_TLS": "true", "REDIS_CA_CERT": "/ca", "REDIS_SCHEME": "redis"},
		{"REDIS_TLS": "yes"},
		{"WORKER_CONCURRENCY": "four"},
	} {
		_, _, err := readSettings(modeWorker, lookupIn(with(bad)))
		assert.Error(t, err, "%v", bad)
	}
}

// An incomplete environment is refused before anything starts, naming what is missing and
// nothing of what is set.
func TestIncompleteEnvironment(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"pynomaly-ref", "api"}, lookupIn(map[string]string{"DATABASE_PASSWORD": "hunter2"}), &out, &errOut)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, out.String(), "SECRET_KEY is not set")
	assert.NotContains(t, out.String(), "hunter2")
}

// The modified z-score finds the outlier and nothing else, and a constant series has none.
func TestDetect(t *testing.T) {
	r := detectionRequest{Values: []float64{10, 11, 9, 10, 12, 10, 11, 95, 10, 9}}
	require.NoError(t, r.validate())
	res, err := detect(context.Background(), r)
	require.NoError(t, err)
	require.Len(t, res.Anomalies, 1)
	assert.Equal(t, 7, res.Anomalies[0].Index)
	assert.Equal(t, 10.0, res.Median)

	res, err = detect(context.Background(), detectionRequest{Values: []float64{3, 3, 3}, Threshold: 3.5})
	require.NoError(t, err)
	assert.Empty(t, res.Anomalies)
	assert.Error(t, (&detectionRequest{Values: []float64{1}}).validate())
}
