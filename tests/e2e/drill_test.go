//go:build e2e

package e2e

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The outage drill's pattern accepts the engine's connection errors and nothing that a
// cancelled or timed-out update prints, so the drill cannot pass on its own cancellation.
func TestOutagePatternMatchesOnlyConnectionErrors(t *testing.T) {
	re := regexp.MustCompile(outageError)
	for _, s := range []string{
		`error: configured Kubernetes cluster is unreachable: unable to load schema information from the API server: Get "https://127.0.0.1:26443/openapi/v2?timeout=32s": dial tcp 127.0.0.1:26443: connect: connection refused`,
		`error: resource pynomaly-data-science was not successfully created by the Kubernetes API server: Post "https://127.0.0.1:26443/api/v1/namespaces": unexpected EOF`,
		`error: Get "https://127.0.0.1:26443/apis/apps/v1/namespaces/pynomaly-data-science/statefulsets/pynomaly-postgres": http2: client connection lost`,
	} {
		assert.Regexp(t, re, s)
	}
	for _, s := range []string{
		"error: update canceled",
		"^C received; cancelling the update",
		"warning: resource operation was cancelled",
		`error: 1 error occurred: * the Kubernetes API server reported that "pynomaly-data-science/pynomaly-postgres" failed to fully initialize or become live: Timeout occurred`,
		"error: context deadline exceeded",
	} {
		assert.NotRegexp(t, re, s)
	}
}
