package components

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// componentType is the type token of one of our components, e.g. pynomaly:platform:Namespace.
// It is part of every child's URN: changing it replaces the whole tier (see the golden test).
func componentType(kind string) string { return "pynomaly:platform:" + kind }

// stateful is what every resource that holds data gets in a protected (prod) stack: protect makes
// `pulumi destroy` and replacements refuse to delete it, retain keeps the object in the cluster if
// it is ever removed from the program or its stack.
func stateful(protect bool) pulumi.ResourceOption {
	return pulumi.Composite(pulumi.Protect(protect), pulumi.RetainOnDelete(protect))
}

// Tier is what every tier that runs pods reports: the workloads it declared, for the
// cross-cutting tiers (quota, monitoring, network policies, RBAC).
type Tier interface {
	Declared() []kube.Workload
}

// workloads is embedded by tier components to collect what they declare.
type workloads struct{ list []kube.Workload }

// Declared lists the tier's workloads in the order they were declared.
func (w *workloads) Declared() []kube.Workload { return w.list }

func (w *workloads) add(wl kube.Workload) { w.list = append(w.list, wl) }
