package kube

import (
	"fmt"
	"maps"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Service is a Service of the platform, with a fixed name that clients address.
type Service struct {
	Name, Component string
	Selector        map[string]string
	Ports           corev1.ServicePortArray
	// Headless is a StatefulSet's governing Service: no cluster IP, and pods published before
	// they are ready, so peers find each other while they start.
	Headless bool
	// ClientIPAffinity sends each client address to the same pod (kube-proxy's sessionAffinity),
	// for a tier that keeps per-client state in memory.
	ClientIPAffinity bool
	Annotations      map[string]string
}

// NewService declares s in namespace ns under parent.
func NewService(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, s Service) (*corev1.Service, error) {
	spec := &corev1.ServiceSpecArgs{Selector: toStringMap(s.Selector), Ports: s.Ports}
	if s.Headless {
		spec.ClusterIP = pulumi.String("None")
		spec.PublishNotReadyAddresses = pulumi.Bool(true)
	}
	if s.ClientIPAffinity {
		spec.SessionAffinity = pulumi.String("ClientIP")
	}
	meta := ObjectMeta(ctx, ns, s.Name, s.Component)
	annotations := map[string]string{}
	maps.Copy(annotations, s.Annotations)
	if !s.Headless {
		// The engine would wait for the Service's endpoints ("Finding Pods to direct traffic
		// to", about 10 s each), but the workload behind every Service of the platform is
		// awaited to Ready by its own resource, and consumers depend on that resource: the wait
		// adds time and no ordering. A headless Service is not awaited in the first place.
		annotations["pulumi.com/skipAwait"] = "true"
	}
	if len(annotations) > 0 {
		meta.Annotations = toStringMap(annotations)
	}
	svc, err := corev1.NewService(ctx, s.Name, &corev1.ServiceArgs{Metadata: meta, Spec: spec}, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("%s: service %s: %w", s.Component, s.Name, err)
	}
	return svc, nil
}

// ServicePort exposes port under name, on the same container port.
func ServicePort(name string, port int) *corev1.ServicePortArgs {
	return &corev1.ServicePortArgs{Name: pulumi.String(name), Port: pulumi.Int(port), TargetPort: pulumi.Int(port)}
}

// NamedServicePort exposes port under name, sent to the container port of the same name.
func NamedServicePort(name string, port int) *corev1.ServicePortArgs {
	return &corev1.ServicePortArgs{Name: pulumi.String(name), Port: pulumi.Int(port), TargetPort: pulumi.String(name)}
}
