package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The engine's waits are what make "databases before the API" real, so none may be skipped
// where it guards something: no workload skips its await, and a Service skips its endpoint wait
// only when every pod it selects belongs to a workload that is awaited.
func TestOnlyRedundantWaitsAreSkipped(t *testing.T) {
	const skip = "pulumi.com/skipAwait"
	for _, env := range envs {
		st := deploy(t, env, nil)
		for _, p := range st.PodTemplates() {
			if p.Owner.Has("metadata.annotations") {
				assert.NotContains(t, p.Owner.StringMap(t, "metadata.annotations"), skip, "%s %s", env, p.Owner.Name)
			}
		}
		for _, svc := range st.OfType("kubernetes:core/v1:Service") {
			if !svc.Has("metadata.annotations") || svc.StringMap(t, "metadata.annotations")[skip] != "true" {
				continue
			}
			sel := svc.StringMap(t, "spec.selector")
			awaited := false
			for _, p := range st.PodTemplates() {
				// The workload's selector within the Service's: every pod the Service selects is
				// one of the workload's (Patroni's role label narrows it further at runtime).
				if p.LongRunning && matches(p.Owner.StringMap(t, "spec.selector.matchLabels"), sel) {
					awaited = true
				}
			}
			assert.True(t, awaited, "%s: Service %s skips its await, but no awaited workload runs the pods it selects", env, svc.Name)
		}
	}
}
