package app

import (
	"fmt"

	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names and ports of the worker tier.
const (
	WorkerName        = "pynomaly-worker"
	workerMetricsPort = 8001
	// workerShutdownMargin is added to the longest task: time to requeue what could not finish.
	workerShutdownMargin = 30
)

// workerGracePeriod is a stopping worker's time to finish its tasks and requeue the rest.
func workerGracePeriod(s config.Worker) int { return s.TaskTimeoutSeconds + workerShutdownMargin }

// WorkerArgs configures the worker tier.
type WorkerArgs struct {
	tier.Context
	Settings config.Worker
	Image    string
	Env      Env
	After    []pulumi.Resource
	// Stopped holds the Deployment at zero pods: a standby stack's writers (postgres.standby).
	Stopped bool
}

// Worker is the seed's data-science-worker.yaml: background processing from the Redis queue,
// autoscaled 3-50 in prod on CPU 75% / memory 85% and, when an external metrics adapter is
// there, on the queue's depth.
type Worker struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	DeploymentName pulumi.StringOutput `pulumi:"deploymentName"`
	// Ready is the Deployment: what waits for the workers to have rolled depends on it.
	Ready []pulumi.Resource
}

// NewWorker creates the worker tier.
func NewWorker(ctx *pulumi.Context, name string, args *WorkerArgs, opts ...pulumi.ResourceOption) (*Worker, error) {
	c := &Worker{}
	if err := ctx.RegisterComponentResource(tier.Type("Worker"), name, c, opts...); err != nil {
		return nil, err
	}
	d, w, err := kube.NewAutoscaled(ctx, c, args.Namespace, workerDeployment(args), kube.After(args.After))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	c.Ready = []pulumi.Resource{d}
	c.DeploymentName = d.Metadata.Name().Elem()
	c.Keep(pulumi.Map{"deploymentName": c.DeploymentName})
	return c, nil
}

func workerContainer(args *WorkerArgs) kube.Container {
	s := args.Settings
	c := args.Env.container("worker", args.Image, s.Resources,
		kube.Env("DATABASE_POOL_SIZE", fmt.Sprint(s.DBPoolSize)),
		kube.Env("WORKER_CONCURRENCY", fmt.Sprint(s.Concurrency)),
		kube.Env("TASK_TIMEOUT_SECONDS", fmt.Sprint(s.TaskTimeoutSeconds)),
	)
	c.Ports = []kube.Port{{Name: "metrics", Port: workerMetricsPort}}
	c.ReadinessProbe = kube.Readiness(kube.HTTPGet("/health", workerMetricsPort))
	c.LivenessProbe = kube.Alive(workerMetricsPort)
	return c
}

// queueDepthMetric scales on the task queue's depth, when an external metrics adapter serves it.
func queueDepthMetric(q config.QueueScaling) autoscalingv2.MetricSpecArray {
	if !q.Enabled {
		return nil
	}
	return autoscalingv2.MetricSpecArray{&autoscalingv2.MetricSpecArgs{
		Type: pulumi.String("External"),
		External: &autoscalingv2.ExternalMetricSourceArgs{
			Metric: &autoscalingv2.MetricIdentifierArgs{
				Name: pulumi.String(q.MetricName),
				// The queue Redis exporter's label for the list it measures (QueueDepthRule).
				Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"key": pulumi.String(redis.TaskQueueName)}},
			},
			Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("AverageValue"), AverageValue: pulumi.String(fmt.Sprint(q.TargetPerPod))},
		},
	}}
}

// PlanWorker is the worker tier before it is declared: its autoscaled Deployment.
func PlanWorker(args *WorkerArgs) (tier.Plan, error) {
	return tier.Plan{Objects: []kube.Object{workerDeployment(args)}}, nil
}

// workerDeployment is the workers' Deployment and autoscaler.
func workerDeployment(args *WorkerArgs) kube.Autoscaled {
	s := args.Settings
	// Graceful task cancellation: on SIGTERM a worker stops taking tasks, finishes or cancels
	// and requeues what it holds; it gets the longest task's time to do so.
	pod := args.Env.appPod(args.TLS, "worker", workerContainer(args), workerMetricsPort, workerGracePeriod(s))
	return kube.Autoscaled{
		Deployment:   rollout(WorkerName, pod),
		Scaling:      scaling(s.Autoscaled),
		Stopped:      args.Stopped,
		ExtraMetrics: queueDepthMetric(s.QueueScaling),
		// Up as fast as the API; down slowly, since a worker stopping mid-task costs the task.
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehaviorArgs{
			ScaleUp:   kube.ScalingRules(0, "Percent", 100, 30),
			ScaleDown: kube.ScalingRules(600, "Percent", 10, 120),
		},
	}
}
