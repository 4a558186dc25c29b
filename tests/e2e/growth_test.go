//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Growth on a deployed stack: a smaller postgres.storageSize is refused at preview, naming the
// deployed claim; a larger one grows every replica's claim in place, re-creates the StatefulSet
// around its pods (their UIDs stay, the new set owns them) and leaves nothing to change after.
// The local cluster's claims are bound (kwok) on the program's class, which allows expansion,
// so the API server applies the same resize rules as on a real cluster.
func TestGrowth(t *testing.T) {
	start := time.Now()
	p, done := clusterProject(t, "dev")
	// Two replicas: the growth reaches every replica's claim, not only the first.
	p.must("config", "set", "--path", "postgres.replicas", "2")
	p.must("up", "--yes", "--skip-preview")
	deployed := time.Now()

	claims := []string{"pgdata-pynomaly-postgres-0", "pgdata-pynomaly-postgres-1"}
	for _, c := range claims {
		require.Equal(t, "10Gi", objectField(t, "pvc", c, "{.spec.resources.requests.storage}"), c)
		require.Equal(t, "Bound", objectField(t, "pvc", c, "{.status.phase}"), c)
	}
	pods := postgresPods(t)
	require.Len(t, pods, 2)
	oldSet := objectField(t, "statefulset", "pynomaly-postgres", "{.metadata.uid}")

	// Shrinking: refused before anything is declared, with the key, the value and the minimum.
	p.must("config", "set", "--path", "postgres.storageSize", "5Gi")
	out, err := p.run("preview")
	require.Error(t, err, "a smaller claim must be refused:\n%s", out)
	assert.Contains(t, out, `cluster preflight [claim-size]: postgres.storageSize = "5Gi" is smaller than the deployed claim pgdata-pynomaly-postgres-`)
	assert.Contains(t, out, "set 10Gi or more.")

	// Growing: a new claim generation, the set replaced, the claims' patches updated, nothing
	// else.
	p.must("config", "set", "--path", "postgres.storageSize", "12Gi")
	steps := previewSteps(t, p)
	assert.ElementsMatch(t, []string{
		"replace random:index/randomId:RandomId::pynomaly-postgres-claims",
		"replace kubernetes:apps/v1:StatefulSet::pynomaly-postgres",
		"update kubernetes:core/v1:PersistentVolumeClaimPatch::pgdata-pynomaly-postgres-0",
		"update kubernetes:core/v1:PersistentVolumeClaimPatch::pgdata-pynomaly-postgres-1",
	}, steps)
	grow := time.Now()
	p.must("up", "--yes", "--skip-preview")
	grown := time.Since(grow)

	for _, c := range claims {
		assert.Equal(t, "12Gi", objectField(t, "pvc", c, "{.spec.resources.requests.storage}"), c)
		assert.Equal(t, "Bound", objectField(t, "pvc", c, "{.status.phase}"), c)
	}
	newSet := objectField(t, "statefulset", "pynomaly-postgres", "{.metadata.uid}")
	assert.NotEqual(t, oldSet, newSet, "the StatefulSet was re-created")
	after := postgresPods(t)
	unchanged := 0
	for name, uid := range pods {
		if after[name] == uid {
			unchanged++
		}
		owner := objectField(t, "pod", name, `{.metadata.ownerReferences[?(@.controller==true)].uid}`)
		assert.Equal(t, newSet, owner, "%s is owned by the new StatefulSet", name)
	}
	assert.Equal(t, len(pods), unchanged, "pods before %v, after %v: the growth restarted a database pod", pods, after)
	assert.Equal(t, "12Gi", objectField(t, "statefulset", "pynomaly-postgres", "{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}"))

	p.must("preview", "--expect-no-changes")
	// The daily drift check reads the patches back from the claims: nothing drifted.
	settleDeployments(t)
	p.must("preview", "--refresh", "--expect-no-changes")
	t.Logf("growth: deployed in %s, grown in %s (%d claims to 12Gi, %d of %d pod UIDs unchanged), %s in all",
		deployed.Sub(start).Round(time.Second), grown.Round(time.Second), len(claims), unchanged, len(pods),
		time.Since(start).Round(time.Second))

	destroy(t, p, "dev")
	done()
}

// postgresPods are the database pods' UIDs by name.
func postgresPods(t *testing.T) map[string]string {
	out := mustKubectl(t, "-n", namespace, "get", "pods", "-l", "app=pynomaly,component=postgres",
		"-o", `jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}{"\n"}{end}`)
	pods := map[string]string{}
	for _, l := range strings.Fields(out) {
		name, uid, _ := strings.Cut(l, "=")
		pods[name] = uid
	}
	return pods
}
