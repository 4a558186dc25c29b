package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	quantity "k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/internal/sizing"
	"github.com/pynomaly/pynomaly-platform/platform"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The workload model: every pod-running object a tier declares is described once, by the
// builder that declares it, and the cross-cutting rules (quota, monitoring, network policies)
// read that list. These tests hold the list to what the program really declared, so a new tier
// that bypasses the builders, or a builder that describes something else than it built, fails.

func kindOf(r *Resource) string { return r.Type[strings.LastIndex(r.Type, ":")+1:] }

func TestEveryPodTemplateIsADeclaredWorkload(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		var objects, declared []string
		for _, p := range st.PodTemplates() {
			objects = append(objects, kindOf(p.Owner)+"/"+p.Owner.Name)
		}
		for _, w := range st.Platform.Workloads() {
			declared = append(declared, w.Kind+"/"+w.Name)
		}
		slices.Sort(objects)
		slices.Sort(declared)
		assert.Equal(t, objects, declared, "%s: pod templates and declared workloads differ", env)
	}
}

// Each description says what its object does: the selector selects its pods, the named ports
// are its containers', the metrics port is one of them and annotated, the service account is
// the pods' own.
func TestWorkloadDescriptionsMatchTheirObjects(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		templates := map[string]PodTemplate{}
		for _, p := range st.PodTemplates() {
			templates[kindOf(p.Owner)+"/"+p.Owner.Name] = p
		}
		for _, w := range st.Platform.Workloads() {
			p, ok := templates[w.Kind+"/"+w.Name]
			require.True(t, ok, "%s: %s/%s declared but not found", env, w.Kind, w.Name)
			checkWorkload(t, env, w, p)
		}
	}
}

func checkWorkload(t *testing.T, env string, w kube.Workload, p PodTemplate) {
	r, what := p.Owner, env+" "+w.Kind+"/"+w.Name
	meta := strings.TrimSuffix(p.Path, ".spec") + ".metadata"
	assert.True(t, matches(w.Selector, r.StringMap(t, meta+".labels")), "%s: selector %v misses its own pods", what, w.Selector)
	assert.Equal(t, w.Component, r.StringMap(t, meta+".labels")["component"], what)
	if p.LongRunning {
		assert.Equal(t, w.Selector, r.StringMap(t, "spec.selector.matchLabels"), "%s: selector", what)
	}
	ports := map[string]int{}
	v, _ := r.Get(p.Path + ".containers")
	for i := range v.ArrayValue() {
		c := fmt.Sprintf("%s.containers.%d", p.Path, i)
		if pv, ok := r.Get(c + ".ports"); ok {
			for j := range pv.ArrayValue() {
				port := fmt.Sprintf("%s.ports.%d", c, j)
				ports[r.Str(t, port+".name")] = r.Int(t, port+".containerPort")
			}
		}
	}
	assert.Equal(t, ports, w.Ports, "%s: named ports", what)
	if w.Metrics != nil {
		assert.Contains(t, ports, portName(ports, w.Metrics.Port), "%s: metrics port %d is no container's", what, w.Metrics.Port)
		assert.Equal(t, itoa(w.Metrics.Port), r.StringMap(t, meta+".annotations")["prometheus.io/port"], what)
	}
	assert.Equal(t, w.ServiceAccount, r.Str(t, p.Path+".serviceAccountName"), what)
	assert.Equal(t, w.APIClient, tokenHolder(t, p), "%s: the container that holds the API token", what)
}

func portName(ports map[string]int, port int) string {
	for name, p := range ports {
		if p == port {
			return name
		}
	}
	return fmt.Sprintf("(none for %d)", port)
}

// The quota check adds up the stack's plan (platform.Plan), computed from the settings before any
// resource exists. It must equal what the program declares: every pod template at its maximum
// replicas (an HPA's maximum, a StatefulSet's replicas, one pod per Job), with Kubernetes' own
// rule for a pod's request (the larger of its containers' sum and its largest init container),
// plus every claim, read from the declared resources.
func TestQuotaFootprintEqualsDeclaredPods(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		want := sizing.Total(planOf(t, env, nil).Footprints())
		got := declaredTotals(t, st)
		for _, f := range []struct {
			name      string
			want, got quantity.Quantity
		}{
			{"requests.cpu", want.RequestsCPU, got.RequestsCPU}, {"requests.memory", want.RequestsMemory, got.RequestsMemory},
			{"limits.cpu", want.LimitsCPU, got.LimitsCPU}, {"limits.memory", want.LimitsMemory, got.LimitsMemory},
			{"requests.storage", want.Storage, got.Storage},
		} {
			assert.Zero(t, f.want.Cmp(f.got), "%s %s: the plan counts %s, the program declares %s", env, f.name, f.want.String(), f.got.String())
		}
		assert.Equal(t, want.Pods, got.Pods, "%s pods", env)
		assert.Equal(t, want.Claims, got.Claims, "%s claims", env)
	}
}

// The plan is what is declared: the workloads every tier's plan describes, before anything
// exists, are those the tiers then declare, in every environment and with every optional
// workload on (a rotation's jobs, the snapshot schedule, queue scaling).
func TestPlanIsWhatTheTiersDeclare(t *testing.T) {
	variants := []struct {
		env string
		c   cfg
	}{
		{"dev", nil}, {"staging", nil}, {"prod", nil},
		{"prod", cfg{"monitoringMode": "operator", "grafana": internalGrafana}},
		{"staging", cfg{"secrets": `{"rotation": {"postgresApp": 1, "redis": 1}}`,
			"storage": `{"snapshots": {"className": "csi-snapshots"}}`}},
	}
	for _, v := range variants {
		st := deploy(t, v.env, v.c)
		planned := wholePlanOf(t, v.env, v.c).Workloads()
		declared := st.Platform.Workloads()
		require.NotEmpty(t, declared)
		assert.ElementsMatch(t, planned, declared, "%s %v", v.env, v.c)
	}
}

// planOf is the plan of an environment's stack with settings c: its namespace's.
func planOf(t *testing.T, env string, c cfg) tier.Plan {
	t.Helper()
	plan, err := platform.Plan(settings(t, env, c))
	require.NoError(t, err)
	return plan
}

// wholePlanOf is the plan of both the stack's namespaces: the platform's and the node agents'.
func wholePlanOf(t *testing.T, env string, c cfg) tier.Plan {
	t.Helper()
	node, err := platform.NodePlan(settings(t, env, c))
	require.NoError(t, err)
	return planOf(t, env, c).With(node)
}

func declaredTotals(t *testing.T, st *Stack) sizing.Totals {
	var tot sizing.Totals
	add := func(sum *quantity.Quantity, q quantity.Quantity, times int) {
		for range times {
			sum.Add(q)
		}
	}
	for _, p := range st.PodTemplates() {
		if p.NodeAgent(t) {
			continue // one per node, in a namespace of their own: not the quota's
		}
		pods := maxPods(t, st, p)
		req, lim := podResources(t, p)
		add(&tot.RequestsCPU, req["cpu"], pods)
		add(&tot.RequestsMemory, req["memory"], pods)
		add(&tot.LimitsCPU, lim["cpu"], pods)
		add(&tot.LimitsMemory, lim["memory"], pods)
		tot.Pods += pods
		if v, ok := p.Owner.Get("spec.volumeClaimTemplates"); ok {
			for i := range v.ArrayValue() {
				add(&tot.Storage, quantity.MustParse(p.Owner.Str(t, fmt.Sprintf("spec.volumeClaimTemplates.%d.spec.resources.requests.storage", i))), pods)
				tot.Claims += pods
			}
		}
	}
	for _, pvc := range st.OfType("kubernetes:core/v1:PersistentVolumeClaim") {
		add(&tot.Storage, quantity.MustParse(pvc.Str(t, "spec.resources.requests.storage")), 1)
		tot.Claims++
	}
	return tot
}

// maxPods is how many pods a template runs at most.
func maxPods(t *testing.T, st *Stack, p PodTemplate) int {
	switch kindOf(p.Owner) {
	case "Job", "CronJob":
		return 1
	case "StatefulSet":
		return p.Owner.Int(t, "spec.replicas")
	}
	for _, hpa := range st.OfType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") {
		if hpa.Str(t, "spec.scaleTargetRef.name") == p.Owner.Name {
			return hpa.Int(t, "spec.maxReplicas")
		}
	}
	return p.Owner.Int(t, "spec.replicas")
}

// podResources is a pod's effective requests and limits: per resource, the larger of the sum
// over its containers and the largest init container.
func podResources(t *testing.T, p PodTemplate) (requests, limits map[string]quantity.Quantity) {
	requests, limits = map[string]quantity.Quantity{}, map[string]quantity.Quantity{}
	for _, kind := range []string{"requests", "limits"} {
		out := map[string]quantity.Quantity{"cpu": {}, "memory": {}}
		for _, res := range []string{"cpu", "memory"} {
			sum, largestInit := quantity.Quantity{}, quantity.Quantity{}
			for _, c := range p.Containers() {
				q := quantity.MustParse(p.Owner.Str(t, c+".resources."+kind+"."+res))
				if strings.Contains(c, ".initContainers.") {
					if q.Cmp(largestInit) > 0 {
						largestInit = q
					}
					continue
				}
				sum.Add(q)
			}
			if largestInit.Cmp(sum) > 0 {
				sum = largestInit
			}
			out[res] = sum
		}
		if kind == "requests" {
			requests = out
		} else {
			limits = out
		}
	}
	return requests, limits
}
