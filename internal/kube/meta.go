package kube

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PartOf is the application every object belongs to; the seed selects on app=pynomaly.
const PartOf = "pynomaly"

// SelectorLabels are the seed's selectors (app=pynomaly, component=<component>). They are the
// only labels a selector may use: the recommended labels below may change, a selector may not.
func SelectorLabels(component string) map[string]string {
	return map[string]string{"app": PartOf, "component": component}
}

// Labels are the selector labels plus the recommended app.kubernetes.io labels. Templates and
// selectors both come from here, so they can never disagree.
func Labels(ctx *pulumi.Context, component string) pulumi.StringMap {
	l := pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(PartOf + "-" + component),
		InstanceLabel:                  pulumi.String(Instance(ctx.Stack())),
		"app.kubernetes.io/component":  pulumi.String(component),
		"app.kubernetes.io/part-of":    pulumi.String(PartOf),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	for k, v := range SelectorLabels(component) {
		l[k] = pulumi.String(v)
	}
	return l
}

// InstanceLabel is the label that tells which stack made an object; Instance is its value.
const InstanceLabel = "app.kubernetes.io/instance"

// Instance is the instance label's value on the objects of stack.
func Instance(stack string) string { return PartOf + "-" + stack }

// ObjectMeta is the metadata of a namespaced object with a fixed name.
func ObjectMeta(ctx *pulumi.Context, namespace pulumi.StringInput, name, component string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: namespace, Labels: Labels(ctx, component)}
}

// AutoNamedMeta is the metadata of an object Pulumi names (name plus a random suffix): a
// ConfigMap that pods mount, so that a change creates a new one and rolls the pods.
func AutoNamedMeta(ctx *pulumi.Context, namespace pulumi.StringInput, component string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Namespace: namespace, Labels: Labels(ctx, component)}
}

// Host is the cluster DNS name of a Service in namespace.
func Host(service string, namespace pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf("%s.%s.svc", service, namespace)
}

func toStringMap(m map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range m {
		out[k] = pulumi.String(v)
	}
	return out
}
