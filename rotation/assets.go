package rotation

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "rotation")

// Scripts are the shell scripts this tier runs, each template filled in for each variant the
// program deploys, with sample values where settings fill it in: what scripts/lint.sh gives
// shellcheck.
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("postgres-retire.sh", "postgres-retire.sh.tmpl", PostgresRetireScript),
		assets.Lint("redis-retire.sh", "redis-retire.sh", RedisRetireScript),
		assets.Lint("rotation-wait-for-previous-clients.sh", "wait-for-previous-clients.sh", waitForPreviousClientsScript),
	}
}
