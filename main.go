// Command pynomaly-platform is the Pulumi program that deploys the Pynomaly anomaly-detection
// data-science platform onto Kubernetes. See README.md and the platform package.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/platform"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		_, err := platform.Program(ctx, ctx.Export, platform.ConnectCluster)
		return err
	})
}
