package tier

import (
	"slices"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// Plan is a tier's objects as plain values, computed from its Args before anything is declared:
// what the platform reads to check the quota and the node selectors, to generate the scrape jobs
// and the NetworkPolicies. Each tier's Plan and New build these objects with the same functions;
// what only exists once declared (a ConfigMap's generated name, a Service, another tier's Secret)
// is a slot those functions take, left empty in the plan. Nothing a plan describes reads a slot.
type Plan struct {
	// Objects are the tier's pod-running objects, in the order the tier declares them.
	Objects []kube.Object
	// Claims are the claims no workload owns (a StatefulSet's claims are its Workload's).
	Claims []kube.Footprint
}

// With is p followed by more.
func (p Plan) With(more Plan) Plan {
	return Plan{Objects: append(slices.Clone(p.Objects), more.Objects...), Claims: append(slices.Clone(p.Claims), more.Claims...)}
}

// Workloads describe the plan's objects, in order.
func (p Plan) Workloads() []kube.Workload {
	out := make([]kube.Workload, 0, len(p.Objects))
	for _, o := range p.Objects {
		out = append(out, o.Workload())
	}
	return out
}

// Footprints are what the plan asks of the namespace's quota: every workload at its largest and
// every claim of its own.
func (p Plan) Footprints() []kube.Footprint {
	var out []kube.Footprint
	for _, w := range p.Workloads() {
		out = append(out, w.Footprint)
	}
	return append(out, p.Claims...)
}

// Images are the images the plan's pods run, each once, sorted: what admission allows and what
// the deploy workflow scans.
func (p Plan) Images() []string {
	var out []string
	for _, w := range p.Workloads() {
		out = append(out, w.Images...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Components are the component labels of the plan's pods, each once, in order.
func (p Plan) Components() []string {
	var out []string
	for _, w := range p.Workloads() {
		if !slices.Contains(out, w.Component) {
			out = append(out, w.Component)
		}
	}
	return out
}
