package components

import (
	"fmt"

	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

const (
	WorkerName        = "pynomaly-worker"
	workerMetricsPort = 8001
	// workerShutdownMargin is added to the longest task: time to requeue what could not finish.
	workerShutdownMargin = 30
)

// WorkerArgs configures the worker tier.
type WorkerArgs struct {
	Namespace pulumi.StringInput
	Settings  config.Worker
	Image     string
	Env       AppEnv
	After     []pulumi.Resource
}

// Worker is the seed's data-science-worker.yaml: background processing from the Redis queue,
// autoscaled 3-50 in prod on CPU 75% / memory 85% and, when an external metrics adapter is
// there, on the queue's depth.
type Worker struct {
	pulumi.ResourceState

	DeploymentName pulumi.StringOutput `pulumi:"deploymentName"`
}

// NewWorker creates the worker tier.
func NewWorker(ctx *pulumi.Context, name string, args *WorkerArgs, opts ...pulumi.ResourceOption) (*Worker, error) {
	c := &Worker{}
	if err := ctx.RegisterComponentResource(componentType("Worker"), name, c, opts...); err != nil {
		return nil, err
	}
	s, ns := args.Settings, args.Namespace
	envFrom, env := args.Env.env(
		&corev1.EnvVarArgs{Name: pulumi.String("DATABASE_POOL_SIZE"), Value: pulumi.String(fmt.Sprint(s.DBPoolSize))},
		&corev1.EnvVarArgs{Name: pulumi.String("WORKER_CONCURRENCY"), Value: pulumi.String(fmt.Sprint(s.Concurrency))},
		&corev1.EnvVarArgs{Name: pulumi.String("TASK_TIMEOUT_SECONDS"), Value: pulumi.String(fmt.Sprint(s.TaskTimeoutSeconds))},
	)
	pod := &corev1.PodSpecArgs{
		// Graceful task cancellation: on SIGTERM a worker stops taking tasks, finishes or
		// cancels and requeues what it holds; it gets the longest task's time to do so.
		TerminationGracePeriodSeconds: pulumi.Int(s.TaskTimeoutSeconds + workerShutdownMargin),
		InitContainers:                args.Env.waitForDatabases(),
		Containers: corev1.ContainerArray{&corev1.ContainerArgs{
			Name:            pulumi.String("worker"),
			Image:           pulumi.String(args.Image),
			Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("metrics"), ContainerPort: pulumi.Int(workerMetricsPort)}},
			EnvFrom:         envFrom,
			Env:             env,
			Resources:       resources(s.Resources),
			SecurityContext: containerSecurity(true),
			ReadinessProbe:  readiness(httpGet("/health", workerMetricsPort)),
			LivenessProbe:   liveness(httpGet("/health", workerMetricsPort)),
			VolumeMounts:    corev1.VolumeMountArray{mount("tmp", "/tmp")},
		}},
		Volumes: corev1.VolumeArray{emptyDir("tmp", false)},
	}
	d, err := appDeployment(ctx, c, ns, WorkerName, "worker", pod, scrapeAnnotations(workerMetricsPort), args.After)
	if err != nil {
		return nil, err
	}
	var extra autoscalingv2.MetricSpecArray
	if q := s.QueueScaling; q.Enabled {
		extra = append(extra, &autoscalingv2.MetricSpecArgs{
			Type: pulumi.String("External"),
			External: &autoscalingv2.ExternalMetricSourceArgs{
				Metric: &autoscalingv2.MetricIdentifierArgs{
					Name:     pulumi.String(q.MetricName),
					Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"queue": pulumi.String(TaskQueueName)}},
				},
				Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("AverageValue"), AverageValue: pulumi.String(fmt.Sprint(q.TargetPerPod))},
			},
		})
	}
	// Up as fast as the API; down slowly, since a worker stopping mid-task costs the task.
	behavior := &autoscalingv2.HorizontalPodAutoscalerBehaviorArgs{
		ScaleUp:   scalingRules(0, "Percent", 100, 30),
		ScaleDown: scalingRules(600, "Percent", 10, 120),
	}
	if _, err := autoscaler(ctx, c, ns, WorkerName, "worker", d, s.Autoscaled, extra, behavior); err != nil {
		return nil, err
	}
	if _, err := podDisruptionBudget(ctx, c, ns, WorkerName, "worker", selectorLabels("worker"), tenPercent); err != nil {
		return nil, err
	}
	c.DeploymentName = d.Metadata.Name().Elem()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"deploymentName": c.DeploymentName})
}
