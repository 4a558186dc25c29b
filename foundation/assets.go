package foundation

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "foundation")

// Scripts are this tier's shell scripts as its pods run them (see platform.Scripts).
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("storage-snapshots.sh", "snapshots.sh.tmpl", VolumeSnapshotScript),
	}
}
