package kube

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Deployment is a stateless workload and its disruption budget. A rollout never goes below the
// current capacity: it starts MaxSurge new pods before it stops old ones (except where replicas
// must be on separate nodes: see spec).
type Deployment struct {
	Name string
	Pod  Pod
	// Replicas is the fixed pod count. An Autoscaled deployment leaves it to its HPA.
	Replicas int
	// MaxSurge is how many pods a rollout adds at once: a count or a percentage.
	MaxSurge pulumi.Input
	// RevisionHistoryLimit is how many old ReplicaSets stay for a rollback; 0 keeps the default.
	RevisionHistoryLimit int
	// DisruptionBudget is the maxUnavailable of its PodDisruptionBudget.
	DisruptionBudget pulumi.Input
}

// NewDeployment declares d with a fixed replica count, and its disruption budget.
func NewDeployment(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, d Deployment, opts ...pulumi.ResourceOption) (*appsv1.Deployment, Workload, error) {
	pod, account, err := d.Pod.withAccount(ctx, parent, ns, d.Name, "Deployment")
	if err != nil {
		return nil, Workload{}, err
	}
	d.Pod, opts = pod, append(opts, account)
	spec := d.spec(ctx)
	spec.Replicas = pulumi.Int(d.Replicas)
	dep, err := d.declare(ctx, parent, ns, spec, opts)
	return dep, d.Workload(), err
}

func (d Deployment) spec(ctx *pulumi.Context) *appsv1.DeploymentSpecArgs {
	rolling := &appsv1.RollingUpdateDeploymentArgs{MaxUnavailable: pulumi.Int(0), MaxSurge: d.MaxSurge}
	if d.Pod.Spread == RequireSpread {
		// With one replica a node allowed, a surge pod has nowhere to go where the nodes are as
		// many as the replicas (the seed's three): the rollout would wait for ever. One old pod
		// stops first instead, which the disruption budget allows.
		rolling = &appsv1.RollingUpdateDeploymentArgs{MaxUnavailable: pulumi.Int(1), MaxSurge: pulumi.Int(0)}
	}
	spec := &appsv1.DeploymentSpecArgs{
		Selector: &metav1.LabelSelectorArgs{MatchLabels: toStringMap(d.Pod.Selector())},
		Strategy: &appsv1.DeploymentStrategyArgs{Type: pulumi.String("RollingUpdate"), RollingUpdate: rolling},
		Template: d.Pod.Template(ctx),
	}
	if d.RevisionHistoryLimit > 0 {
		spec.RevisionHistoryLimit = pulumi.Int(d.RevisionHistoryLimit)
	}
	return spec
}

// declare creates the Deployment and its budget.
func (d Deployment) declare(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, spec *appsv1.DeploymentSpecArgs, opts []pulumi.ResourceOption) (*appsv1.Deployment, error) {
	component := d.Pod.Component
	dep, err := appsv1.NewDeployment(ctx, d.Name, &appsv1.DeploymentArgs{
		Metadata: ObjectMeta(ctx, ns, d.Name, component), Spec: spec,
	}, append([]pulumi.ResourceOption{pulumi.Parent(parent)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: deployment: %w", component, err)
	}
	if err := newDisruptionBudget(ctx, parent, ns, d.Name, component, d.Pod.Selector(), d.DisruptionBudget); err != nil {
		return nil, err
	}
	return dep, nil
}
