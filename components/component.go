package components

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// componentType is the type token of one of our components, e.g. pynomaly:platform:Namespace.
func componentType(kind string) string { return "pynomaly:platform:" + kind }

// stateful is what every resource that holds data gets in a protected (prod) stack: protect makes
// `pulumi destroy` and replacements refuse to delete it, retain keeps the object in the cluster if
// it is ever removed from the program or its stack.
func stateful(protect bool) pulumi.ResourceOption {
	return pulumi.Composite(pulumi.Protect(protect), pulumi.RetainOnDelete(protect))
}
