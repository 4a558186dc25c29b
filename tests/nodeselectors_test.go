package tests

import (
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// nodeSelectorVariant is a stack whose pod templates the node selector invariants check.
type nodeSelectorVariant struct {
	name, env string
	c         cfg
}

// nodeSelectorVariants are every environment as profiled, and prod with the workloads no profile
// runs: volume snapshots and the retirement jobs of a rotation. Together they declare a pod of
// every component.
func nodeSelectorVariants(extra cfg) []nodeSelectorVariant {
	with := func(c cfg) cfg {
		out := maps.Clone(c)
		if out == nil {
			out = cfg{}
		}
		maps.Copy(out, extra)
		return out
	}
	var vs []nodeSelectorVariant
	for _, env := range envs {
		vs = append(vs, nodeSelectorVariant{env, env, with(nil)})
	}
	return append(vs, nodeSelectorVariant{"prod/snapshots+rotation", "prod",
		with(cfg{"storage": snapshotClass, "secrets": `{"rotation": {"all": 1}}`})})
}

// templateComponent is the component label of a pod template.
func templateComponent(t *testing.T, p PodTemplate) string {
	t.Helper()
	return p.Owner.StringMap(t, strings.TrimSuffix(p.Path, ".spec")+".metadata.labels")["component"]
}

// With a default and some components' own entries, every pod template of every tier requires
// its component's entry, or else the default: judged from each template's component label over
// every pod template declared, so a new workload is held to it without a line of this test. The
// entries are the end-to-end suite's real node: everything there but InfluxDB and Grafana, whose
// images cannot be built locally (InfluxDB's setup and backup jobs run its image too).
func TestNodeSelectorsPlaceEveryPodByComponent(t *testing.T) {
	selectors := map[string]map[string]string{
		"default":         {"type": "real"},
		"influxdb":        {"type": "kwok"},
		"influxdb-setup":  {"type": "kwok"},
		"influxdb-backup": {"type": "kwok"},
		"grafana":         {"type": "kwok"},
		// Several labels, one of them a key with a prefix.
		"postgres": {"type": "real", "kubernetes.io/arch": "amd64"},
	}
	setting := `{"default": {"type": "real"}, "influxdb": {"type": "kwok"}, "influxdb-setup": {"type": "kwok"},
		"influxdb-backup": {"type": "kwok"}, "grafana": {"type": "kwok"}, "postgres": {"type": "real", "kubernetes.io/arch": "amd64"}}`
	own := map[string]int{}
	for _, v := range nodeSelectorVariants(cfg{"nodeSelectors": setting}) {
		st := deploy(t, v.env, v.c)
		planned := wholePlanOf(t, v.env, v.c).Components()
		for _, p := range st.PodTemplates() {
			component := templateComponent(t, p)
			what := v.name + " " + kindOf(p.Owner) + "/" + p.Owner.Name + " (" + component + ")"
			assert.Contains(t, planned, component, "%s: a component the plan does not list, so nodeSelectors refuses its entry", what)
			want, ok := selectors[component]
			if ok {
				own[component]++
			} else {
				want = selectors["default"]
			}
			if assert.True(t, p.Owner.Has(p.Path+".nodeSelector"), "%s: no nodeSelector", what) {
				assert.Equal(t, want, p.Owner.StringMap(t, p.Path+".nodeSelector"), what)
			}
		}
	}
	for component := range selectors {
		if component != "default" {
			assert.NotZero(t, own[component], "no pod of %s was checked against its own entry", component)
		}
	}
}

// Unset, the setting places nothing: no pod template of any environment has a nodeSelector, so
// the rendered manifests are what they were before the setting existed.
func TestNodeSelectorsUnsetLeavePodsUnplaced(t *testing.T) {
	for _, v := range nodeSelectorVariants(nil) {
		st := deploy(t, v.env, v.c)
		for _, p := range st.PodTemplates() {
			assert.False(t, p.Owner.Has(p.Path+".nodeSelector"), "%s %s/%s", v.name, kindOf(p.Owner), p.Owner.Name)
		}
	}
}
