package platform

import (
	"slices"

	"github.com/pynomaly/pynomaly-platform/app"
	"github.com/pynomaly/pynomaly-platform/foundation"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/rotation"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Scripts are every shell script the tiers run, as their pods run them, each template filled in
// for each variant the program deploys, with sample values where settings fill it in: what
// scripts/lint.sh gives shellcheck (cmd/lintscripts writes them out).
func Scripts() []tier.Script {
	return slices.Concat(app.Scripts(), influxdb.Scripts(), postgres.Scripts(), rotation.Scripts(),
		redis.Scripts(), foundation.Scripts())
}
