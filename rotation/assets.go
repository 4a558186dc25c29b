package rotation

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "rotation")

// Scripts are this tier's shell scripts as its pods run them (see platform.Scripts).
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("postgres-retire.sh", "postgres-retire.sh.tmpl", PostgresRetireScript),
		assets.Lint("redis-retire.sh", "redis-retire.sh", RedisRetireScript),
		assets.Lint("rotation-wait-for-previous-clients.sh", "wait-for-previous-clients.sh", waitForPreviousClientsScript),
	}
}
