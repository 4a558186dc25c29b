package redis

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Role is what one Redis instance holds. The two roles need opposite eviction rules, which
// is why they are two instances: an LRU policy may drop any key, and a queued task must never be
// dropped.
type Role string

const (
	// Queue holds the task queue: eviction off, every write in the append-only file
	// (fsync each second) plus RDB snapshots.
	Queue Role = "queue"
	// Cache holds cache entries and sessions: least-recently-used keys are evicted at
	// maxmemory, nothing is persisted.
	Cache Role = "cache"
)

// MaxMemory is 80% of the container's memory limit: room for replication buffers and
// fragmentation, so Redis refuses or evicts before the kernel kills it. prod's cache (10Gi)
// gets the seed's 8 GB.
func MaxMemory(t config.StatefulTier) int64 {
	limit := resource.MustParse(t.Resources.MemoryLimit)
	return limit.Value() * 8 / 10
}

// Conf is the redis.conf of a role. Credentials and the replication topology are added at
// start (see redis.go), so this file holds no secret and is the same on every replica.
func Conf(role Role, t config.StatefulTier) string {
	lines := []string{
		"bind * -::*",
		fmt.Sprintf("port %d", Port),
		"protected-mode no",
		"dir /data",
		"tcp-keepalive 60",
		"timeout 0",
		fmt.Sprintf("maxmemory %d", MaxMemory(t)),
		"replica-read-only yes",
		"replica-serve-stale-data yes",
		"loglevel notice",
	}
	switch role {
	case Queue:
		lines = append(lines,
			"maxmemory-policy noeviction",
			"appendonly yes",
			"appendfsync everysec",
			"aof-use-rdb-preamble yes",
			"save 900 1 300 10 60 10000",
			"stop-writes-on-bgsave-error yes",
		)
		if t.Replicas > 1 {
			// A primary cut off from every replica stops taking writes within 10 s, so a
			// task is never acknowledged by a node that is about to lose a failover.
			lines = append(lines, "min-replicas-to-write 1", "min-replicas-max-lag 10")
		}
	case Cache:
		lines = append(lines,
			"maxmemory-policy allkeys-lru",
			"appendonly no",
			`save ""`,
		)
	}
	return strings.Join(lines, "\n") + "\n"
}

// TLSConf moves a Redis or Sentinel listening on port to TLS only: the plain port off, the
// server's certificate, and TLS to the primary (replication; Sentinel's connections to Redis and
// to the other Sentinels), checked against the CA. Clients authenticate with the password, not
// with certificates. Appended to Conf or SentinelConf, whose plain port it overrides.
func TLSConf(port int) string {
	return strings.Join([]string{
		"port 0",
		fmt.Sprintf("tls-port %d", port),
		"tls-cert-file " + tier.ServerTLSMountPath + "/tls.crt",
		"tls-key-file " + tier.ServerTLSMountPath + "/tls.key",
		"tls-ca-cert-file " + tier.ServerTLSMountPath + "/ca.crt",
		"tls-auth-clients no",
		"tls-replication yes",
		`tls-protocols "TLSv1.2 TLSv1.3"`,
	}, "\n") + "\n"
}

// CLITLS are redis-cli's options with TLS on: TLS, and the CA to check the server with.
func CLITLS(caFile string) string { return "--tls --cacert " + caFile }

// SentinelQuorum is how many Sentinels must agree that a primary is down: a majority.
func SentinelQuorum(replicas int) int { return replicas/2 + 1 }

// SentinelConf is the Sentinel configuration without the monitored primary and the password,
// which the init container adds once it knows who the primary is.
func SentinelConf() string {
	return strings.Join([]string{
		fmt.Sprintf("port %d", SentinelPort),
		"dir /tmp",
		"sentinel resolve-hostnames yes",
		"sentinel announce-hostnames yes",
	}, "\n") + "\n"
}

// SentinelMonitor is the part of the Sentinel configuration that names the primary.
func SentinelMonitor(master, host string, replicas int) string {
	return strings.Join([]string{
		fmt.Sprintf("sentinel monitor %s %s %d %d", master, host, Port, SentinelQuorum(replicas)),
		fmt.Sprintf("sentinel down-after-milliseconds %s 5000", master),
		fmt.Sprintf("sentinel failover-timeout %s 60000", master),
		fmt.Sprintf("sentinel parallel-syncs %s 1", master),
	}, "\n") + "\n"
}

// SentinelPort is where Sentinel listens.
const SentinelPort = 26379
