package redis

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "redis")

// Scripts are the shell scripts this tier runs, each template filled in for each variant the
// program deploys, with sample values where settings fill it in: what scripts/lint.sh gives
// shellcheck.
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("redis-startup.sh", "startup.sh", redisStartup),
		assets.Lint("redis-ping.sh", "ping.sh.tmpl", redisPing(Port)),
		assets.Lint("redis-ping-sentinel.sh", "ping.sh.tmpl", redisPing(sentinelPort)),
	}
}
