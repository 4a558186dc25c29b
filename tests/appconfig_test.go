package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const configMapType = "kubernetes:core/v1:ConfigMap"

func TestConfigTier(t *testing.T) {
	wantLog := map[string]string{"dev": "debug", "staging": "info", "prod": "info"}
	// dev runs one Redis of each role (connect directly); staging and prod run Sentinels.
	redisPort := map[string]string{"dev": "6379", "staging": "26379", "prod": "26379"}
	sentinel := func(env, master string) string {
		if env == "dev" {
			return ""
		}
		return master
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			cm := st.One(t, configMapType, "pynomaly-app-config")
			assert.False(t, cm.Has("metadata.name"), "auto-named, so that a change rolls the pods that mount it")
			assert.Equal(t, "pynomaly-data-science", cm.Str(t, "metadata.namespace"))
			want := map[string]string{
				"PYNOMALY_ENVIRONMENT":        env,
				"LOG_LEVEL":                   wantLog[env],
				"DATABASE_HOST":               "pynomaly-postgres-pooler.pynomaly-data-science.svc",
				"DATABASE_PORT":               "5432",
				"DATABASE_NAME":               "pynomaly",
				"REDIS_QUEUE_HOST":            "pynomaly-redis-queue.pynomaly-data-science.svc",
				"REDIS_QUEUE_PORT":            redisPort[env],
				"REDIS_QUEUE_SENTINEL_MASTER": sentinel(env, "pynomaly-redis-queue"),
				"REDIS_CACHE_HOST":            "pynomaly-redis-cache.pynomaly-data-science.svc",
				"REDIS_CACHE_PORT":            redisPort[env],
				"REDIS_CACHE_SENTINEL_MASTER": sentinel(env, "pynomaly-redis-cache"),
				"REDIS_USERNAME":              "pynomaly",
				"REDIS_CACHE_KEY_PREFIX":      "pynomaly:",
				"TASK_QUEUE_NAME":             "pynomaly-tasks",
				"INFLUXDB_URL":                "http://pynomaly-influxdb.pynomaly-data-science.svc:8086",
				"INFLUXDB_ORG":                "pynomaly",
				"INFLUXDB_BUCKET":             "metrics",
				"API_PORT":                    "8000",
				"MODEL_STORAGE_PATH":          "/models",
				// Plain in dev, verified TLS (tls.internal) in staging and prod.
				"DATABASE_SSLMODE": "prefer", "REDIS_TLS": "false", "REDIS_SCHEME": "redis",
			}
			if env != "dev" {
				for k, v := range map[string]string{"DATABASE_SSLMODE": "verify-full", "REDIS_TLS": "true", "REDIS_SCHEME": "rediss",
					"DATABASE_SSLROOTCERT": "/etc/pynomaly/ca/ca.crt", "REDIS_CA_CERT": "/etc/pynomaly/ca/ca.crt", "INFLUXDB_CA_CERT": "/etc/pynomaly/ca/ca.crt",
					"INFLUXDB_URL": "https://pynomaly-influxdb.pynomaly-data-science.svc:8086"} {
					want[k] = v
				}
			}
			assert.Equal(t, want, cm.StringMap(t, "data"))
			for k := range cm.StringMap(t, "data") {
				for _, word := range []string{"PASSWORD", "TOKEN", "SECRET"} {
					assert.False(t, strings.Contains(k, word), "credential-like key %s in a ConfigMap", k)
				}
			}
			out := st.Outputs["appConfigMap"].StringValue()
			assert.True(t, strings.HasPrefix(out, "pynomaly-app-config-"), "exported name %q is the generated one", out)
		})
	}
}

func TestLogLevelOverride(t *testing.T) {
	st := deploy(t, "prod", cfg{"logLevel": "warning"})
	assert.Equal(t, "warning", st.One(t, configMapType, "pynomaly-app-config").StringMap(t, "data")["LOG_LEVEL"])
}
