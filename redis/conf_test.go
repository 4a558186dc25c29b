package redis

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/golden"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestRedisConf pins the files of each role's ConfigMap as redisInstance.configMap writes them:
// redis.conf (TLS appended where internal TLS is on) and, where the role runs Sentinel (more
// than one replica: staging, prod), sentinel.conf and sentinel-monitor.conf. The queue must
// never evict and the cache must; maxmemory stays under the limit; Sentinel's quorum is a
// majority.
func TestRedisConf(t *testing.T) {
	for _, role := range []Role{Queue, Cache} {
		for _, env := range config.Environments {
			t.Run(string(role)+"-"+string(env), func(t *testing.T) {
				s := golden.Settings(t, env)
				r := redisInstance{role: role, tier: s.RedisQueue, name: QueueService}
				if role == Cache {
					r.tier, r.name = s.RedisCache, CacheService
				}
				conf, sentinel := Conf(role, r.tier), SentinelConf()
				if s.TLS.Internal {
					conf += TLSConf(Port)
					sentinel += TLSConf(SentinelPort)
				}
				got := "# redis.conf\n" + conf
				if r.sentinel() {
					got += "# sentinel.conf\n" + sentinel +
						"# sentinel-monitor.conf\n" + SentinelMonitor(r.master(), "PRIMARY_HOST", r.tier.Replicas)
				}
				golden.Compare(t, fmt.Sprintf("redis/%s-%s.conf", role, env), got)

				policies := regexp.MustCompile(`(?m)^maxmemory-policy (\S+)$`).FindAllStringSubmatch(conf, -1)
				want := map[Role]string{Queue: "noeviction", Cache: "allkeys-lru"}[role]
				if len(policies) != 1 || policies[0][1] != want {
					t.Errorf("%s: maxmemory-policy lines %v, want exactly one %s", role, policies, want)
				}
				limit := resource.MustParse(r.tier.Resources.MemoryLimit)
				m := regexp.MustCompile(`(?m)^maxmemory (\d+)$`).FindStringSubmatch(conf)
				if m == nil {
					t.Fatalf("no maxmemory in\n%s", conf)
				}
				if n, err := strconv.ParseInt(m[1], 10, 64); err != nil || n <= 0 || n >= limit.Value() {
					t.Errorf("maxmemory %s, want above 0 and below the %s limit", m[1], r.tier.Resources.MemoryLimit)
				}
				if r.sentinel() {
					f := strings.Fields(strings.SplitN(SentinelMonitor(r.master(), "h", r.tier.Replicas), "\n", 2)[0])
					if q, _ := strconv.Atoi(f[len(f)-1]); 2*q <= r.tier.Replicas || q > r.tier.Replicas {
						t.Errorf("quorum %d of %d Sentinels is not a majority", q, r.tier.Replicas)
					}
				}
			})
		}
	}
}
