package app

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "app")

// Scripts are the shell scripts this tier runs, each template filled in for each variant the
// program deploys, with sample values where settings fill it in: what scripts/lint.sh gives
// shellcheck.
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("app-wait-for-postgres.sh", "wait-for-postgres.sh", waitForPostgresScript),
		assets.Lint("app-wait-for-redis.sh", "wait-for-redis.sh", waitForRedisScript),
	}
}
