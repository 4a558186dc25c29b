package postgres

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "postgres")

// Scripts are this tier's shell scripts as its pods run them (see platform.Scripts).
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("postgres-setup.sh", "setup.sh.tmpl", SetupScript),
		assets.Lint("postgres-backup.sh", "backup.sh.tmpl", BackupScript),
		assets.Lint("postgres-restore.sh", "restore.sh", RestoreScript),
	}
}
