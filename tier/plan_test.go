package tier

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// A plan's footprints are every workload at its largest, then the claims of their own; its
// components are each pod label once, in the order the objects come; joining plans keeps both
// orders and leaves the parts unchanged.
func TestPlanAddsUpItsObjectsAndClaims(t *testing.T) {
	job := kube.Job{Name: "pynomaly-setup", Pod: kube.Pod{Component: "setup", Containers: []kube.Container{{Name: "setup", Resources: JobResources}}}}
	db := kube.StatefulSet{Name: "pynomaly-db", Replicas: 3, Claim: kube.Claim{Name: "data", Size: "10Gi"},
		Pod: kube.Pod{Component: "db", Containers: []kube.Container{{Name: "db"}, {Name: "exporter", Resources: SidecarResources}}}}
	data := Plan{Objects: []kube.Object{db, job}}
	storage := Plan{Objects: []kube.Object{job}, Claims: []kube.Footprint{{Name: "claim backups", ClaimSize: "5Gi", Claims: 1}}}

	whole := data.With(storage)
	assert.Equal(t, []string{"db", "setup"}, whole.Components())
	f := whole.Footprints()
	if assert.Len(t, f, 4) {
		assert.Equal(t, kube.Footprint{Name: "db", Pods: 3, ClaimSize: "10Gi", Claims: 3,
			Containers: []kube.Resources{{}, SidecarResources}}, f[0])
		assert.Equal(t, 1, f[1].Pods)
		assert.Equal(t, "claim backups", f[3].Name)
	}
	assert.Len(t, data.Objects, 2, "With changed its receiver")
	assert.Empty(t, data.Claims, "With changed its receiver")
}
