package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const claimPatchType = "kubernetes:core/v1:PersistentVolumeClaimPatch"

// Every StatefulSet, in every environment, can grow its claims: a changed claim template
// re-creates the set (deleted first, its pods orphaned, so they keep running and the new set
// adopts them), and each replica's existing claim is patched to the template's size after the
// set exists. No set is protected, in prod either: protection would refuse the replacement, and
// the data is in the claims, which the retention policy keeps and prod's protected namespace
// holds.
func TestStatefulSetsGrowTheirClaimsInPlace(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, nil)
			sets := st.OfType(statefulSetType)
			require.NotEmpty(t, sets)
			want := map[string]string{} // claim name -> size
			for _, sts := range sets {
				assert.Equal(t, "orphan", sts.StringMap(t, "metadata.annotations")["pulumi.com/deletionPropagationPolicy"], sts.Name)
				assert.True(t, sts.DeleteBeforeReplace, "%s: a fixed name is deleted before it is made again", sts.Name)
				assert.Contains(t, sts.ReplaceOnChanges, "spec.volumeClaimTemplates", sts.Name)
				assert.False(t, sts.Protect, "%s: a protected set could not be re-created to grow", sts.Name)
				assert.False(t, sts.RetainOnDelete, "%s: a retained set would block its own re-creation", sts.Name)
				assert.Equal(t, "Retain", sts.Str(t, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"), sts.Name)
				assert.Equal(t, "Retain", sts.Str(t, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"), sts.Name)
				if sts.Has("spec.volumeClaimTemplates.0") {
					// A new template draws a new generation, unknown until `pulumi up`: the
					// preview of the re-creation skips the provider's dry run, which the API
					// server would refuse as a change of the existing set.
					gen := st.One(t, "random:index/randomId:RandomId", sts.Name+"-claims")
					assert.Equal(t, sts.Str(t, "spec.volumeClaimTemplates.0.spec.resources.requests.storage"), gen.StringMap(t, "keepers")["size"], sts.Name)
					assert.NotEmpty(t, sts.StringMap(t, "metadata.annotations")["pynomaly.io/claim-generation"], sts.Name)
					assert.True(t, st.DependsOn(sts, gen), sts.Name)
				}
				for c := 0; sts.Has(fmt.Sprintf("spec.volumeClaimTemplates.%d", c)); c++ {
					tmpl := fmt.Sprintf("spec.volumeClaimTemplates.%d", c)
					for i := 0; i < sts.Int(t, "spec.replicas"); i++ {
						want[fmt.Sprintf("%s-%s-%d", sts.Str(t, tmpl+".metadata.name"), sts.Name, i)] = sts.Str(t, tmpl+".spec.resources.requests.storage")
					}
				}
			}
			patches := st.OfType(claimPatchType)
			assert.Len(t, patches, len(want), "one patch per replica's claim")
			for _, p := range patches {
				size, ok := want[p.Name]
				if !assert.True(t, ok, "%s patches no replica's claim", p.Name) {
					continue
				}
				assert.Equal(t, p.Name, p.Str(t, "metadata.name"))
				assert.Equal(t, "pynomaly-data-science", p.Str(t, "metadata.namespace"))
				assert.Equal(t, size, p.Str(t, "spec.resources.requests.storage"), p.Name)
				assert.Equal(t, []string{"resources"}, keys(p, t, "spec"), "%s sets the request only", p.Name)
				a := p.StringMap(t, "metadata.annotations")
				assert.Equal(t, "true", a["pulumi.com/patchForce"], "%s takes the field from the controller that made the claim", p.Name)
				assert.Equal(t, "true", a["pulumi.com/skipAwait"], p.Name)
				assert.True(t, p.RetainOnDelete, "%s: removing the patch must not drop the claim's request", p.Name)
				assert.False(t, p.DeleteBeforeReplace, p.Name)
				var after []string
				for _, sts := range sets {
					if st.DependsOn(p, sts) {
						after = append(after, sts.Name)
					}
				}
				if assert.Len(t, after, 1, "%s comes after its own StatefulSet", p.Name) {
					assert.Contains(t, p.Name, "-"+after[0]+"-", p.Name)
				}
			}
			if env == "prod" {
				assert.True(t, st.One(t, "kubernetes:core/v1:Namespace", "pynomaly-data-science").Protect, "the namespace of the claims is what prod protects")
			}
		})
	}
}

// A new size reaches every replica's claim of that set, and only that set's.
func TestRaisedStorageSizePatchesEachReplicasClaim(t *testing.T) {
	grown := map[string]string{"dev": "20Gi", "staging": "60Gi", "prod": "210Gi"} // within each quota
	for _, env := range envs {
		before := deploy(t, env, nil)
		after := deploy(t, env, cfg{"postgres": `{"storageSize": "` + grown[env] + `"}`})
		replicas := after.One(t, statefulSetType, "pynomaly-postgres").Int(t, "spec.replicas")
		n := 0
		for _, p := range after.OfType(claimPatchType) {
			old := before.One(t, claimPatchType, p.Name).Str(t, "spec.resources.requests.storage")
			if strings.HasPrefix(p.Name, "pgdata-pynomaly-postgres-") {
				assert.Equal(t, grown[env], p.Str(t, "spec.resources.requests.storage"), "%s %s", env, p.Name)
				n++
				continue
			}
			assert.Equal(t, old, p.Str(t, "spec.resources.requests.storage"), "%s %s", env, p.Name)
		}
		assert.Equal(t, replicas, n, "%s: every replica's claim", env)
		generation := func(st *Stack) string {
			return st.One(t, statefulSetType, "pynomaly-postgres").StringMap(t, "metadata.annotations")["pynomaly.io/claim-generation"]
		}
		assert.NotEqual(t, generation(before), generation(after), "%s: a new claim generation re-creates the set", env)
		assert.Equal(t, before.One(t, statefulSetType, "pynomaly-influxdb").StringMap(t, "metadata.annotations"),
			after.One(t, statefulSetType, "pynomaly-influxdb").StringMap(t, "metadata.annotations"), "%s: other sets stay", env)
	}
}

// Rendered manifests have no claims to patch (and a patch written as a manifest would be a
// partial claim); the sets still carry the orphan policy for whoever applies them with Pulumi.
func TestRenderedStackPatchesNoClaim(t *testing.T) {
	st := deploy(t, "dev", cfg{"kubernetes": `{"renderYamlToDirectory": "rendered/dev"}`})
	assert.Empty(t, st.OfType(claimPatchType))
	assert.NotEmpty(t, st.OfType(statefulSetType))
}

// keys are the property names of the object at path.
func keys(r *Resource, t *testing.T, path string) []string {
	v, ok := r.Get(path)
	require.True(t, ok, path)
	var out []string
	for k := range v.ObjectValue() {
		out = append(out, string(k))
	}
	return out
}
