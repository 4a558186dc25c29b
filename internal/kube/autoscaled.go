package kube

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Autoscaled is a Deployment whose replica count a HorizontalPodAutoscaler owns, on CPU and
// memory utilisation plus any extra metrics.
type Autoscaled struct {
	Deployment
	Scaling      Scaling
	ExtraMetrics autoscalingv2.MetricSpecArray
	Behavior     *autoscalingv2.HorizontalPodAutoscalerBehaviorArgs
	// Stopped holds the Deployment at zero pods, without its autoscaler: an HPA cannot hold
	// zero, and stops scaling a Deployment found at zero. Resuming drops spec.replicas again,
	// which server-side apply resets to its default (one), from where the new HPA scales.
	Stopped bool
}

// Scaling is how far an HPA scales its Deployment and on what.
type Scaling struct {
	MinReplicas, MaxReplicas int
	// TargetCPUUtilization and TargetMemoryUtilization are in percent of the requests.
	TargetCPUUtilization, TargetMemoryUtilization int
}

// NewAutoscaled declares the Deployment, its HPA and its disruption budget. spec.replicas is
// left unset, so neither `pulumi up` nor a drift check ever fights the autoscaler; the quota
// counts the Deployment at its maximum.
func NewAutoscaled(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, a Autoscaled, opts ...pulumi.ResourceOption) (*appsv1.Deployment, Workload, error) {
	pod, account, err := a.Pod.withAccount(ctx, parent, ns, a.Name, "Deployment")
	if err != nil {
		return nil, Workload{}, err
	}
	a.Pod, opts = pod, append(opts, account)
	spec := a.spec(ctx)
	if a.Stopped {
		spec.Replicas = pulumi.Int(0)
	}
	dep, err := a.declare(ctx, parent, ns, spec, opts)
	if err != nil || a.Stopped {
		return dep, a.Workload(), err
	}
	component := a.Pod.Component
	_, err = autoscalingv2.NewHorizontalPodAutoscaler(ctx, a.Name, &autoscalingv2.HorizontalPodAutoscalerArgs{
		Metadata: ObjectMeta(ctx, ns, a.Name, component),
		Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
			ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
				ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: dep.Metadata.Name().Elem(),
			},
			MinReplicas: pulumi.Int(a.Scaling.MinReplicas),
			MaxReplicas: pulumi.Int(a.Scaling.MaxReplicas),
			Metrics: append(autoscalingv2.MetricSpecArray{
				utilization("cpu", a.Scaling.TargetCPUUtilization),
				utilization("memory", a.Scaling.TargetMemoryUtilization),
			}, a.ExtraMetrics...),
			Behavior: a.Behavior,
		},
	}, pulumi.Parent(parent))
	if err != nil {
		return nil, Workload{}, fmt.Errorf("%s: autoscaler: %w", component, err)
	}
	return dep, a.Workload(), nil
}

func utilization(resourceName string, percent int) *autoscalingv2.MetricSpecArgs {
	return &autoscalingv2.MetricSpecArgs{
		Type: pulumi.String("Resource"),
		Resource: &autoscalingv2.ResourceMetricSourceArgs{
			Name:   pulumi.String(resourceName),
			Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(percent)},
		},
	}
}

// ScalingRules is one direction of an HPA's behaviour: a stabilisation window and one policy.
func ScalingRules(windowSeconds int, policyType string, value, periodSeconds int) *autoscalingv2.HPAScalingRulesArgs {
	return &autoscalingv2.HPAScalingRulesArgs{
		StabilizationWindowSeconds: pulumi.Int(windowSeconds),
		SelectPolicy:               pulumi.String("Max"),
		Policies: autoscalingv2.HPAScalingPolicyArray{&autoscalingv2.HPAScalingPolicyArgs{
			Type: pulumi.String(policyType), Value: pulumi.Int(value), PeriodSeconds: pulumi.Int(periodSeconds),
		}},
	}
}
