// Package tier is what every tier of the platform shares: the component base (type tokens, outputs
// registered once the platform is declared, the workloads a tier declared), the context every tier
// is given (namespace, internal TLS, placement, protection), the embedded scripts and templates,
// the TLS mounts of servers and clients, and the cluster APIs a tier needs.
package tier

import (
	"errors"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// Type is the type token of one of our components, e.g. pynomaly:platform:Namespace.
// It is part of every child's URN: changing it replaces the whole tier (see the golden test).
func Type(kind string) string { return "pynomaly:platform:" + kind }

// Stateful is what every resource that holds data gets in a protected (prod) stack: protect makes
// `pulumi destroy` and replacements refuse to delete it, retain keeps the object in the cluster if
// it is ever removed from the program or its stack.
func Stateful(protect bool) pulumi.ResourceOption {
	return pulumi.Composite(pulumi.Protect(protect), pulumi.RetainOnDelete(protect))
}

// Tier is what every tier that runs pods reports: the workloads it declared, for the
// cross-cutting tiers (quota, monitoring, network policies, RBAC).
type Tier interface {
	Declared() []kube.Workload
}

// Workloads is embedded by tier components to collect what they declare.
type Workloads struct{ list []kube.Workload }

// Declared lists the tier's workloads in the order they were declared.
func (w *Workloads) Declared() []kube.Workload { return w.list }

func (w *Workloads) Add(wl kube.Workload) { w.list = append(w.list, wl) }

// OutputSet is embedded by every component: it keeps the component's OutputSet until the platform
// registers them (RegisterOutputs), once every tier is declared, rather than at the end of each
// constructor. ctx.RegisterResourceOutputs first waits, in the caller's goroutine, for the
// component's URN, which the engine returns only after it has checked every registration sent
// before: a constructor that registered its OutputSet held the program until the engine caught up,
// so each tier reached the engine one engine round after the previous, and the monitoring and
// security tiers' 60 objects arrived just as the data tier came up, to be checked ahead of the
// pooler, the migration and the app (about 4 s of `pulumi up` on two cores).
type OutputSet struct{ values pulumi.Map }

// Keep records the component's outputs, for RegisterOutputs.
func (o *OutputSet) Keep(values pulumi.Map) { o.values = values }

// Outputs are the component's outputs (an empty map when it has none).
func (o *OutputSet) Outputs() pulumi.Map {
	if o.values == nil {
		return pulumi.Map{}
	}
	return o.values
}

// Component is one of our components: it keeps its outputs for RegisterOutputs.
type Component interface {
	pulumi.ComponentResource
	Outputs() pulumi.Map
}

// RegisterOutputs registers each component's outputs, in the order given. The program calls it
// once every tier is declared, with every component it declared.
func RegisterOutputs(ctx *pulumi.Context, cs ...Component) error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, ctx.RegisterResourceOutputs(c, c.Outputs()))
	}
	return errors.Join(errs...)
}
