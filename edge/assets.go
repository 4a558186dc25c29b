package edge

import (
	"embed"

	"github.com/pynomaly/pynomaly-platform/tier"
)

//go:embed assets
var embedded embed.FS

// assets are the edge's templates, under assets/ (see tier.Assets).
var assets = tier.NewAssets(embedded, "edge")
