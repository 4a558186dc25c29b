// Command pynomaly-platform is the Pulumi program that deploys the Pynomaly anomaly-detection
// data-science platform onto Kubernetes. See README.md.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/components"
	"github.com/pynomaly/pynomaly-platform/config"
)

func main() {
	pulumi.Run(Program)
}

// Program loads and validates the stack's settings (nothing is declared if they are wrong),
// builds the platform and exports what operators and other stacks need: names, never values.
func Program(ctx *pulumi.Context) error {
	settings, err := config.Load(ctx)
	if err != nil {
		return err
	}
	p, err := components.NewPlatform(ctx, "pynomaly", settings)
	if err != nil {
		return err
	}
	for name, value := range p.Outputs() {
		ctx.Export(name, value)
	}
	return nil
}
