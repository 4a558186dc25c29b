package app

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "app")

// Scripts are this tier's shell scripts as its pods run them (see platform.Scripts).
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("app-wait-for-postgres.sh", "wait-for-postgres.sh", waitForPostgresScript),
		assets.Lint("app-wait-for-redis.sh", "wait-for-redis.sh", waitForRedisScript),
	}
}
