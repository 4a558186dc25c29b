package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedisTier(t *testing.T) {
	want := map[string]struct {
		replicas       int
		queueStorage   string
		cacheMaxMemory string
		queueMaxMemory string
		quorum         string
		sentinel       bool
	}{
		"dev":     {1, "1Gi", "268435456", "214748364", "", false},
		"staging": {3, "5Gi", "1073741824", "429496729", "2", true},
		// The seed's 8 GB cache (80% of a 10Gi limit).
		"prod": {3, "20Gi", "8589934592", "1717986918", "2", true},
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			w := want[env]
			for _, role := range []string{"queue", "cache"} {
				name := "pynomaly-redis-" + role
				sts := st.One(t, statefulSetType, name)
				assert.Equal(t, w.replicas, sts.Int(t, "spec.replicas"), name)
				assert.Equal(t, name+"-headless", sts.Str(t, "spec.serviceName"))
				conf := st.One(t, configMapType, name).StringMap(t, "data")
				redisConf := conf["redis.conf"]
				assert.Contains(t, redisConf, "tcp-keepalive 60\n", name)

				c := sts.Container(t, podSpec, "redis")
				assert.Equal(t, "redis:7.4.2-alpine", sts.Str(t, c+".image"))
				// Redis reads the file the start-up script writes: only that script holds passwords.
				assert.Equal(t, map[string]string{"REDIS_CLI_TLS": sts.Env(t, c)["REDIS_CLI_TLS"]}, sts.Env(t, c), name)
				topology := sts.Env(t, sts.Container(t, podSpec, "topology"))
				assert.Equal(t, "secret:pynomaly-redis-credentials/password", topology["REDIS_PASSWORD"])
				assert.Equal(t, "secret:pynomaly-redis-credentials/replication-password", topology["REDIS_REPLICATION_PASSWORD"])
				exporter := sts.Env(t, sts.Container(t, podSpec, "exporter"))
				assert.Equal(t, "exporter", exporter["REDIS_USER"])
				assert.Equal(t, "secret:pynomaly-redis-credentials/exporter-password", exporter["REDIS_PASSWORD"])
				assert.Contains(t, conf["users.conf"], "\npynomaly ~pynomaly", "the application's user holds keys of its own")
				assert.Contains(t, sts.Str(t, c+".readinessProbe.exec.command.2"), "ping")
				assert.Equal(t, 6379, sts.Int(t, c+".livenessProbe.tcpSocket.port"))
				sts.Container(t, podSpec, "exporter")
				sts.Container(t, podSpec, "topology")
				assert.Equal(t, 1, st.One(t, pdbType, name).Int(t, "spec.maxUnavailable"))

				svc := st.One(t, serviceType, name)
				if w.sentinel {
					sts.Container(t, podSpec, "sentinel")
					assert.Contains(t, conf["sentinel-monitor.conf"], "sentinel monitor "+name+" PRIMARY_HOST 6379 "+w.quorum+"\n")
					assert.Equal(t, 26379, svc.Int(t, "spec.ports.0.port"), "clients reach the Sentinels")
					assert.False(t, svc.Has("spec.ports.1"), "no direct port: it could land on a replica")
				} else {
					assert.NotContains(t, conf, "sentinel.conf")
					assert.Equal(t, 6379, svc.Int(t, "spec.ports.0.port"))
				}

				switch role {
				case "queue":
					// A queued task is never evicted and survives a restart.
					for _, line := range []string{"maxmemory-policy noeviction", "appendonly yes", "appendfsync everysec", "save 900 1 300 10 60 10000", "maxmemory " + w.queueMaxMemory} {
						assert.Contains(t, redisConf, line+"\n")
					}
					assert.Equal(t, w.sentinel, strings.Contains(redisConf, "min-replicas-to-write 1\n"))
					assert.Equal(t, w.queueStorage, sts.Str(t, "spec.volumeClaimTemplates.0.spec.resources.requests.storage"))
				case "cache":
					for _, line := range []string{"maxmemory-policy allkeys-lru", "appendonly no", `save ""`, "maxmemory " + w.cacheMaxMemory} {
						assert.Contains(t, redisConf, line+"\n")
					}
					assert.False(t, sts.Has("spec.volumeClaimTemplates.0"), "a cache keeps no volume")
				}
			}
		})
	}
}
