package foundation

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	schedulingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/scheduling/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/internal/kube"
)

// PriorityClass is a scheduling priority the stack creates for its pods (priorityClasses.create).
type PriorityClass struct {
	// Name is cluster-wide, so it carries the namespace: two stacks never share one.
	Name string
	// Value orders the classes: when the cluster is full, the scheduler preempts pods of lower
	// classes to place those of higher ones.
	Value       int
	Description string
	// Preempts says whether its pods may evict pods of lower classes to be placed: not for batch
	// jobs, which would otherwise evict other tenants' pods (at the default priority, 0) for a
	// nightly backup.
	Preempts bool
}

// newPriorityClasses declares classes. They are cluster-scoped, and a pod naming a class that
// does not exist is refused, so the namespace (which every namespaced object waits for) is
// created after them.
func newPriorityClasses(ctx *pulumi.Context, parent pulumi.Resource, classes []PriorityClass) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, pc := range classes {
		preemption := "Never"
		if pc.Preempts {
			preemption = "PreemptLowerPriority"
		}
		r, err := schedulingv1.NewPriorityClass(ctx, pc.Name, &schedulingv1.PriorityClassArgs{
			Metadata:         &metav1.ObjectMetaArgs{Name: pulumi.String(pc.Name), Labels: kube.Labels(ctx, "namespace")},
			Value:            pulumi.Int(pc.Value),
			Description:      pulumi.String(pc.Description),
			PreemptionPolicy: pulumi.String(preemption),
		}, pulumi.Parent(parent))
		if err != nil {
			return nil, fmt.Errorf("priority class %s: %w", pc.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}
