package kube

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// After is pulumi.DependsOn for a list of Kubernetes objects, and refuses anything else.
//
// The Go SDK turns a dependency on a component into dependencies on the children the component
// has at that moment, and a child joins its parent from a goroutine of its own, after its
// constructor returned. So a component in a DependsOn list is a race: now and then an edge is
// dropped, and the engine may, say, retire a password before the API rolled to the new one. The
// mocked suite saw it in about one run in ten. Tiers hand each other the objects
// themselves (their Ready lists), and this guard turns a component slipped into one into a
// failure of every run, not of one in ten.
func After(objects []pulumi.Resource) pulumi.ResourceOption {
	for _, r := range objects {
		if _, ok := r.(pulumi.CustomResource); !ok {
			panic(fmt.Sprintf("kube.After: %T is not a Kubernetes object; depend on the objects a component lists as Ready", r))
		}
	}
	return pulumi.DependsOn(objects)
}
