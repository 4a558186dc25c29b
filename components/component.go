package components

import (
	"errors"
	"sync"

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

// Component outputs are registered once the whole platform is declared (RegisterOutputs), not at
// the end of each constructor. ctx.RegisterResourceOutputs first waits, in the caller's goroutine,
// for the component's URN, which the engine returns only after it has checked every registration
// sent before: a constructor that registered its outputs held the program until the engine
// caught up, so each tier reached the engine one engine round after the previous, and the
// monitoring and security tiers' 60 objects arrived just as the data tier came up, to be checked
// ahead of the pooler, the migration and the app (about 4 s of `pulumi up` on two cores).
var pendingOutputs = struct {
	sync.Mutex
	byContext map[*pulumi.Context][]func() error
}{byContext: map[*pulumi.Context][]func() error{}}

// registerOutputs records c's outputs; RegisterOutputs registers them.
func registerOutputs(ctx *pulumi.Context, c pulumi.ComponentResource, outputs pulumi.Map) error {
	pendingOutputs.Lock()
	defer pendingOutputs.Unlock()
	pendingOutputs.byContext[ctx] = append(pendingOutputs.byContext[ctx], func() error {
		return ctx.RegisterResourceOutputs(c, outputs)
	})
	return nil
}

// RegisterOutputs registers the outputs of every component declared in ctx so far, in the order
// they were declared. The program calls it once every tier is declared.
func RegisterOutputs(ctx *pulumi.Context) error {
	pendingOutputs.Lock()
	pending := pendingOutputs.byContext[ctx]
	delete(pendingOutputs.byContext, ctx)
	pendingOutputs.Unlock()
	var errs []error
	for _, register := range pending {
		errs = append(errs, register())
	}
	return errors.Join(errs...)
}
