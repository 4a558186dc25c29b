package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The workers on a dedicated pool: their pods require the pool's label and tolerate its taint,
// and every other pod template tolerates nothing, so the taint keeps all else off the pool.
// Judged over every pod template of every environment (and prod's optional workloads).
func TestWorkersRunOnTheirNodePool(t *testing.T) {
	pool := cfg{
		"nodeSelectors": `{"worker": {"pynomaly.io/pool": "workers"}}`,
		"tolerations":   `{"worker": [{"key": "pynomaly.io/pool", "value": "workers", "effect": "NoSchedule"}]}`,
	}
	for _, v := range nodeSelectorVariants(pool) {
		st := deploy(t, v.env, v.c)
		workers := 0
		for _, p := range st.PodTemplates() {
			what := v.name + " " + kindOf(p.Owner) + "/" + p.Owner.Name
			if templateComponent(t, p) != "worker" {
				assert.False(t, p.Owner.Has(p.Path+".tolerations"), "%s tolerates the workers' taint", what)
				continue
			}
			workers++
			assert.Equal(t, map[string]string{"pynomaly.io/pool": "workers"}, p.Owner.StringMap(t, p.Path+".nodeSelector"), what)
			tolerations, ok := p.Owner.Get(p.Path + ".tolerations")
			require.True(t, ok, "%s: no tolerations", what)
			require.Len(t, tolerations.ArrayValue(), 1, what)
			assert.Equal(t, "pynomaly.io/pool", p.Owner.Str(t, p.Path+".tolerations.0.key"))
			assert.Equal(t, "workers", p.Owner.Str(t, p.Path+".tolerations.0.value"))
			assert.Equal(t, "NoSchedule", p.Owner.Str(t, p.Path+".tolerations.0.effect"))
		}
		assert.Equal(t, 1, workers, "%s: the worker Deployment's template", v.name)
	}
}

// The stack's own priority classes: the databases above the application above batch jobs, each
// pod template of each kind given its tier's class, and the namespace (which every namespaced
// object waits for) created after the classes, so no pod names a class that does not exist yet.
// A component's own entry names an existing class instead.
func TestPriorityClassesOrderDataAppAndBatch(t *testing.T) {
	st := deploy(t, "prod", cfg{"priorityClasses": `{"create": true, "names": {"grafana": "best-effort-dashboards"}}`})
	values := map[string]int{}
	ns := st.One(t, "kubernetes:core/v1:Namespace", "pynomaly-data-science")
	for _, pc := range st.OfType("kubernetes:scheduling.k8s.io/v1:PriorityClass") {
		values[pc.Name] = pc.Int(t, "value")
		assert.True(t, st.DependsOn(ns, pc), "the namespace does not wait for %s", pc.Name)
		// A nightly job never evicts another tenant's pod to be placed.
		preemption := map[bool]string{true: "Never", false: "PreemptLowerPriority"}[strings.HasSuffix(pc.Name, "-batch")]
		assert.Equal(t, preemption, pc.Str(t, "preemptionPolicy"), pc.Name)
	}
	require.Len(t, values, 3)
	data, app, batch := values["pynomaly-data-science-data"], values["pynomaly-data-science-app"], values["pynomaly-data-science-batch"]
	assert.Greater(t, data, app)
	assert.Greater(t, app, batch)
	assert.Positive(t, batch)
	assert.Less(t, data, 1_000_000_000, "at or above the system classes' range")

	want := map[string]string{
		"StatefulSet": "pynomaly-data-science-data", "DaemonSet": "pynomaly-data-science-data", "Deployment": "pynomaly-data-science-app",
		"Job": "pynomaly-data-science-batch", "CronJob": "pynomaly-data-science-batch",
	}
	for _, p := range st.PodTemplates() {
		expected := want[kindOf(p.Owner)]
		if templateComponent(t, p) == "grafana" {
			expected = "best-effort-dashboards"
		}
		assert.Equal(t, expected, p.Owner.Str(t, p.Path+".priorityClassName"), "%s/%s", kindOf(p.Owner), p.Owner.Name)
	}
}

// images.pullSecrets reach every pod template; an extra ServiceAccount annotation reaches its
// component's accounts alone. Unset, no template names a pull Secret, a class or a toleration.
func TestPullSecretsAndAccountExtrasReachTheirPods(t *testing.T) {
	for _, v := range nodeSelectorVariants(cfg{"images": `{"pullSecrets": ["registry-mirror", "private-registry"]}`,
		"serviceAccounts": `{"api": {"annotations": {"example.com/owner": "data-science"}, "labels": {"team": "ds"}}}`}) {
		st := deploy(t, v.env, v.c)
		for _, p := range st.PodTemplates() {
			what := v.name + " " + kindOf(p.Owner) + "/" + p.Owner.Name
			assert.Equal(t, "registry-mirror", p.Owner.Str(t, p.Path+".imagePullSecrets.0.name"), what)
			assert.Equal(t, "private-registry", p.Owner.Str(t, p.Path+".imagePullSecrets.1.name"), what)
		}
		for _, sa := range st.OfType("kubernetes:core/v1:ServiceAccount") {
			api := sa.StringMap(t, "metadata.labels")["component"] == "api"
			annotated := sa.Has("metadata.annotations") && sa.StringMap(t, "metadata.annotations")["example.com/owner"] == "data-science"
			assert.Equal(t, api, annotated, "%s ServiceAccount %s", v.name, sa.Name)
			assert.Equal(t, api, sa.StringMap(t, "metadata.labels")["team"] == "ds", "%s ServiceAccount %s", v.name, sa.Name)
		}
	}
	for _, v := range nodeSelectorVariants(nil) {
		for _, p := range deploy(t, v.env, v.c).PodTemplates() {
			for _, field := range []string{"imagePullSecrets", "priorityClassName", "tolerations"} {
				assert.False(t, p.Owner.Has(p.Path+"."+field), "%s %s/%s: %s without a setting", v.name, kindOf(p.Owner), p.Owner.Name, field)
			}
		}
	}
}
