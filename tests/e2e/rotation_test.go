//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rotation in prod, where credentials are protected like the data: two rotations in a row
// (secrets.rotation.all 1, then 2) preview and update without replacing or deleting anything
// protected. The first adds generation 1 in slot b and keeps generation 0 in slot a; the second
// puts generation 2 into slot a, keeps generation 1, and deletes generation 0's RandomPasswords,
// which the first rotation had unprotected. A jump of two generations is refused at preview.
func TestRotationInProd(t *testing.T) {
	installCRDs(t, "edge", certManagerCRDs[:2])
	start := time.Now()
	p, done := clusterProject(t, "prod")
	p.must("up", "--yes", "--skip-preview")
	creds := []map[string]string{clusterCredentials(t)}
	for g := 1; g <= 2; g++ {
		p.must("config", "set", "--path", "secrets.rotation.all", fmt.Sprint(g))
		steps, out, err := p.preview()
		require.NoError(t, err, "generation %d: pulumi preview:\n%s", g, out)
		var changes []string
		for _, s := range steps {
			if s.Op == "same" || s.Op == "read" {
				continue
			}
			changes = append(changes, s.String())
			if destructiveOps[s.Op] && !(rollingReplacements[s.Type()] && s.Op == "replace") {
				// Only the generation before the previous one goes.
				gone := map[string]bool{}
				for _, name := range []string{"postgres-app-password", "redis-password"} {
					gone[name+generationSuffix(g-2)] = true
				}
				gone["postgres-app-password"+generationSuffix(g-2)+"-salt"] = true
				assert.True(t, s.Op == "delete" && gone[s.Name()], "generation %d: %s", g, s.String())
			}
		}
		t.Logf("generation %d: %s", g, strings.Join(changes, "\n  "))
		p.must("up", "--yes", "--skip-preview")
		creds = append(creds, clusterCredentials(t))
		for _, job := range []string{"pynomaly-postgres-retire", "pynomaly-redis-retire"} {
			mustKubectl(t, "-n", namespace, "get", "job", job)
		}
	}
	const pg, redis = "pynomaly-postgres-credentials/", "pynomaly-redis-credentials/"
	for _, key := range []string{pg + "app-password", redis + "password"} {
		assert.Equal(t, creds[0][key], creds[1][key], "the first rotation keeps generation 0 in slot a: %s", key)
		assert.NotEqual(t, creds[1][key], creds[2][key], "the second rotation puts generation 2 into slot a: %s", key)
		assert.NotEmpty(t, creds[1][key+"-b"], "the first rotation fills slot b: %s-b", key)
		assert.Equal(t, creds[1][key+"-b"], creds[2][key+"-b"], "the second rotation keeps generation 1: %s-b", key)
	}
	// Credentials that do not rotate stay as they are.
	assert.Equal(t, creds[0][pg+"superuser-password"], creds[2][pg+"superuser-password"])

	p.must("config", "set", "--path", "secrets.rotation.all", "4")
	_, out, err := p.preview()
	require.Error(t, err, "a jump of two generations previewed")
	assert.Contains(t, out, "must be 2 (as deployed) or 3 (one rotation)")
	p.must("config", "set", "--path", "secrets.rotation.all", "2")

	destroy(t, p, "prod")
	done()
	t.Logf("prod: two rotations and the refused jump in %s", time.Since(start).Round(time.Second))
}

// generationSuffix is the logical name's suffix of a credential's generation g.
func generationSuffix(g int) string {
	if g == 0 {
		return ""
	}
	return fmt.Sprintf("-g%d", g)
}
