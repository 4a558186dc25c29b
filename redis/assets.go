package redis

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "redis")

// Scripts are this tier's shell scripts as its pods run them (see platform.Scripts).
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("redis-startup.sh", "startup.sh", redisStartup),
		assets.Lint("redis-ping.sh", "ping.sh.tmpl", redisPing(Port)),
		assets.Lint("redis-ping-sentinel.sh", "ping.sh.tmpl", redisPing(SentinelPort)),
	}
}
