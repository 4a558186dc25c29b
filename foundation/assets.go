package foundation

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the scripts and templates of this tier, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "foundation")

// Scripts are the shell scripts this tier runs, each template filled in for each variant the
// program deploys, with sample values where settings fill it in: what scripts/lint.sh gives
// shellcheck.
func Scripts() []tier.Script {
	return []tier.Script{
		assets.Lint("storage-snapshots.sh", "snapshots.sh.tmpl", VolumeSnapshotScript),
	}
}
