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

// A Deployment whose replicas must be on separate nodes cannot roll out by adding a pod first
// where the nodes are as many as the replicas (the seed's minimum cluster of three): it stops one
// old pod before it starts its replacement. Every other Deployment keeps its capacity and adds
// first. Judged from each Deployment's own template, in every environment and placement.
func TestRolloutsFitTheirPlacement(t *testing.T) {
	for _, c := range []struct {
		env string
		cfg cfg
	}{{"dev", nil}, {"staging", nil}, {"prod", nil}, {"prod", cfg{"placement": "preferred"}}, {"dev", cfg{"placement": "required"}}} {
		st := deploy(t, c.env, c.cfg)
		required := 0
		for _, d := range st.OfType(deploymentType) {
			rolling := "spec.strategy.rollingUpdate"
			if d.Has("spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution") {
				required++
				assert.Equal(t, 0, d.Int(t, rolling+".maxSurge"), "%s %v %s", c.env, c.cfg, d.Name)
				assert.Equal(t, 1, d.Int(t, rolling+".maxUnavailable"), "%s %v %s", c.env, c.cfg, d.Name)
			} else {
				assert.Equal(t, 0, d.Int(t, rolling+".maxUnavailable"), "%s %v %s", c.env, c.cfg, d.Name)
			}
		}
		if c.env == "prod" && c.cfg == nil {
			assert.Positive(t, required, "prod's pooler must be on separate nodes")
		}
	}
}
