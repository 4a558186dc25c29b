// Package platform is the Pulumi program: it loads a stack's settings, builds every tier in
// order on one Kubernetes provider, and exports what operators and other stacks address.
// main.go runs it; the mocked-engine tests run the very same function.
package platform

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config/load"
)

// Export publishes one stack output; main.go passes ctx.Export, the tests a recorder.
type Export func(name string, value pulumi.Input)

// Program loads and validates the stack's settings and their plan, and checks that the cluster
// has what they need (nothing is declared if any fails), builds the platform and exports its outputs:
// names, never values. connect reaches the cluster for the checks.
func Program(ctx *pulumi.Context, export Export, connect Connect) (*Platform, error) {
	settings, err := load.Load(ctx)
	if err != nil {
		return nil, err
	}
	// What only the whole plan can tell is bad input too, and stops the preview as early.
	if _, err := Plan(settings); err != nil {
		return nil, err
	}
	if err := checkCluster(settings, ctx.Stack(), connect); err != nil {
		return nil, err
	}
	p, err := NewPlatform(ctx, "pynomaly", settings)
	if err != nil {
		return nil, err
	}
	for name, value := range p.Outputs() {
		export(name, value)
	}
	return p, nil
}
