package components

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PartOf is the application every object belongs to; the seed selects on app=pynomaly.
const PartOf = "pynomaly"

// selectorLabels are the seed's selectors (app=pynomaly, component=<tier>). They are the only
// labels a selector may use: the recommended labels below may change, a selector may not.
func selectorLabels(component string) pulumi.StringMap {
	return pulumi.StringMap{"app": pulumi.String(PartOf), "component": pulumi.String(component)}
}

// labels are the selector labels plus the recommended app.kubernetes.io labels. Templates and
// selectors both come from here, so they can never disagree.
func labels(ctx *pulumi.Context, component string) pulumi.StringMap {
	l := pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(PartOf + "-" + component),
		"app.kubernetes.io/instance":   pulumi.String(PartOf + "-" + ctx.Stack()),
		"app.kubernetes.io/component":  pulumi.String(component),
		"app.kubernetes.io/part-of":    pulumi.String(PartOf),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	for k, v := range selectorLabels(component) {
		l[k] = v
	}
	return l
}

// objectMeta is the metadata of a namespaced object with a fixed name.
func objectMeta(ctx *pulumi.Context, namespace pulumi.StringInput, name, component string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{
		Name:      pulumi.String(name),
		Namespace: namespace,
		Labels:    labels(ctx, component),
	}
}
