package kube

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The disruption budgets of the platform: a voluntary disruption (a node drain, an upgrade)
// takes a database or the pooler down one pod at a time, and a stateless tier a tenth of its
// pods at once (at least one), so 100 API pods do not drain one by one.
var (
	OneAtATime pulumi.Input = pulumi.Int(1)
	TenPercent pulumi.Input = pulumi.String("10%")
)

// newDisruptionBudget bounds what a voluntary disruption may take of the pods of selector.
func newDisruptionBudget(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, name, component string, selector map[string]string, maxUnavailable pulumi.Input) error {
	_, err := policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: ObjectMeta(ctx, ns, name, component),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: maxUnavailable,
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: toStringMap(selector)},
		},
	}, pulumi.Parent(parent))
	if err != nil {
		return fmt.Errorf("%s: pod disruption budget: %w", component, err)
	}
	return nil
}
