package tests

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Placement is its own setting: it decides whether replicas of the databases and the pooler may
// share a node, whatever the Pod Security level; the stateless API and workers always only
// prefer to spread.
func TestPodPlacementFollowsThePlacementSetting(t *testing.T) {
	spreadOf := func(st *Stack, r *Resource) string {
		spec := "spec.template.spec"
		switch {
		case r.Has(spec + ".affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"):
			assert.Equal(t, "DoNotSchedule", r.Str(t, spec+".topologySpreadConstraints.0.whenUnsatisfiable"), r.Name)
			return "required"
		case r.Has(spec + ".affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"):
			assert.Equal(t, "ScheduleAnyway", r.Str(t, spec+".topologySpreadConstraints.0.whenUnsatisfiable"), r.Name)
			return "preferred"
		}
		return "none"
	}
	replicated := []string{"pynomaly-postgres", "pynomaly-postgres-pooler", "pynomaly-redis-queue", "pynomaly-redis-cache"}
	for _, c := range []struct {
		env  string
		cfg  cfg
		want string
	}{
		{"dev", nil, "preferred"},
		{"dev", cfg{"security": "enforced"}, "preferred"},
		{"dev", cfg{"placement": "required"}, "required"},
		{"staging", nil, "preferred"},
		{"prod", nil, "required"},
		{"prod", cfg{"placement": "preferred"}, "preferred"},
		{"prod", cfg{"security": "enforced"}, "required"},
	} {
		st := deploy(t, c.env, c.cfg)
		for _, p := range st.PodTemplates() {
			r := p.Owner
			switch {
			case slices.Contains(replicated, r.Name):
				assert.Equal(t, c.want, spreadOf(st, r), "%s %v: %s", c.env, c.cfg, r.Name)
			case r.Name == "pynomaly-api" || r.Name == "pynomaly-worker":
				assert.Equal(t, "preferred", spreadOf(st, r), "%s %v: %s", c.env, c.cfg, r.Name)
			}
		}
	}
}
