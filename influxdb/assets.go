package influxdb

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "influxdb")

// Scripts are this tier's shell scripts as its pods run them (see platform.Scripts).
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("influxdb-onboard.sh", "onboard.sh.tmpl", OnboardHook(false)),
		assets.Lint("influxdb-onboard-tls.sh", "onboard.sh.tmpl", OnboardHook(true)),
		assets.Lint("influxdb-setup.sh", "setup.sh.tmpl", influxDBSetupScript("30d", "365d")),
		assets.Lint("influxdb-backup.sh", "backup.sh.tmpl", BackupScript),
		assets.Lint("influxdb-restore.sh", "restore.sh", RestoreScript),
	}
}
