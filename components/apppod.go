package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

// What the API, the workers and the migration job share: how their pods find configuration and
// credentials, and how they wait for the databases.

// appUID is the unprivileged user the Pynomaly images run as.
const appUID = 10001

// AppEnv is what an application pod reads: the config tier's ConfigMap and the credentials of
// the data tier, as secret references.
type AppEnv struct {
	ConfigMap      pulumi.StringInput
	PostgresSecret pulumi.StringInput
	RedisSecret    pulumi.StringInput
	InfluxDBSecret pulumi.StringInput
	// Images of the init containers that wait for PostgreSQL and Redis.
	PostgresClientImage string
	RedisImage          string
}

// env is the environment of an application container: every key of the ConfigMap, plus the
// credentials by reference. Values never appear in the pod spec.
func (e AppEnv) env(extra ...*corev1.EnvVarArgs) (corev1.EnvFromSourceArray, corev1.EnvVarArray) {
	from := corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: e.ConfigMap}}}
	vars := corev1.EnvVarArray{
		secretEnv("DATABASE_PASSWORD", e.PostgresSecret, PostgresAppPasswordKey),
		secretEnv("REDIS_PASSWORD", e.RedisSecret, RedisPasswordKey),
		secretEnv("INFLUXDB_TOKEN", e.InfluxDBSecret, InfluxDBAdminTokenKey),
	}
	for _, e := range extra {
		vars = append(vars, e)
	}
	return from, vars
}

// waitForDatabases are init containers that hold a pod until PostgreSQL (through the pooler) and
// both Redis roles answer. `pulumi up` orders creation; these keep the same order when pods
// restart outside it (a node failure, a rollout while a database fails over).
func (e AppEnv) waitForDatabases() corev1.ContainerArray {
	from := corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: e.ConfigMap}}}
	wait := func(name, image, script string, env corev1.EnvVarArray) *corev1.ContainerArgs {
		return &corev1.ContainerArgs{
			Name:            pulumi.String(name),
			Image:           pulumi.String(image),
			Command:         pulumi.StringArray{pulumi.String("sh"), pulumi.String("-ec"), pulumi.String(script)},
			EnvFrom:         from,
			Env:             env,
			Resources:       resources(config.SidecarResources),
			SecurityContext: containerSecurity(true),
		}
	}
	return corev1.ContainerArray{
		wait("wait-for-postgres", e.PostgresClientImage,
			`until pg_isready -q -h "$DATABASE_HOST" -p "$DATABASE_PORT"; do echo "waiting for $DATABASE_HOST"; sleep 2; done`, nil),
		// With Sentinel the port is the Sentinels', which answer PING too.
		wait("wait-for-redis", e.RedisImage,
			`for target in "$REDIS_QUEUE_HOST:$REDIS_QUEUE_PORT" "$REDIS_CACHE_HOST:$REDIS_CACHE_PORT"; do
  until redis-cli -h "${target%:*}" -p "${target##*:}" ping 2>/dev/null | grep -q PONG; do echo "waiting for $target"; sleep 2; done
done`, corev1.EnvVarArray{secretEnv("REDISCLI_AUTH", e.RedisSecret, RedisPasswordKey)}),
	}
}

// appDeployment is a Deployment whose replica count the HPA owns: spec.replicas is left unset,
// so neither `pulumi up` nor a drift check ever fights the autoscaler.
func appDeployment(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, name, component string, pod *corev1.PodSpecArgs, annotations pulumi.StringMap, after []pulumi.Resource) (*appsv1.Deployment, error) {
	affinity, spreadConstraints := spread(component, false)
	pod.Affinity, pod.TopologySpreadConstraints = affinity, spreadConstraints
	pod.SecurityContext = podSecurity(appUID, appUID)
	pod.AutomountServiceAccountToken = pulumi.Bool(false)
	d, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: objectMeta(ctx, ns, name, component),
		Spec: &appsv1.DeploymentSpecArgs{
			Selector: &metav1.LabelSelectorArgs{MatchLabels: selectorLabels(component)},
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type: pulumi.String("RollingUpdate"),
				// Never below the current capacity during a rollout.
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{MaxUnavailable: pulumi.Int(0), MaxSurge: pulumi.String("25%")},
			},
			RevisionHistoryLimit: pulumi.Int(5),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels(ctx, component), Annotations: annotations},
				Spec:     pod,
			},
		},
	}, pulumi.Parent(parent), pulumi.DependsOn(after))
	if err != nil {
		return nil, fmt.Errorf("%s: deployment: %w", component, err)
	}
	return d, nil
}

// autoscaler is the HPA of an application Deployment: CPU and memory utilisation targets plus
// any extra metrics, and the scaling behaviour.
func autoscaler(ctx *pulumi.Context, parent pulumi.Resource, ns pulumi.StringInput, name, component string, d *appsv1.Deployment, a config.Autoscaled, extra autoscalingv2.MetricSpecArray, behavior *autoscalingv2.HorizontalPodAutoscalerBehaviorArgs) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	utilization := func(resourceName string, pct int) *autoscalingv2.MetricSpecArgs {
		return &autoscalingv2.MetricSpecArgs{
			Type: pulumi.String("Resource"),
			Resource: &autoscalingv2.ResourceMetricSourceArgs{
				Name:   pulumi.String(resourceName),
				Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(pct)},
			},
		}
	}
	metrics := append(autoscalingv2.MetricSpecArray{
		utilization("cpu", a.TargetCPUUtilization),
		utilization("memory", a.TargetMemoryUtilization),
	}, extra...)
	hpa, err := autoscalingv2.NewHorizontalPodAutoscaler(ctx, name, &autoscalingv2.HorizontalPodAutoscalerArgs{
		Metadata: objectMeta(ctx, ns, name, component),
		Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
			ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
				ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: d.Metadata.Name().Elem(),
			},
			MinReplicas: pulumi.Int(a.MinReplicas),
			MaxReplicas: pulumi.Int(a.MaxReplicas),
			Metrics:     metrics,
			Behavior:    behavior,
		},
	}, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("%s: autoscaler: %w", component, err)
	}
	return hpa, nil
}

// scalingRules is one direction of an HPA's behaviour: a stabilisation window and one policy.
func scalingRules(windowSeconds int, policyType string, value, periodSeconds int) *autoscalingv2.HPAScalingRulesArgs {
	return &autoscalingv2.HPAScalingRulesArgs{
		StabilizationWindowSeconds: pulumi.Int(windowSeconds),
		SelectPolicy:               pulumi.String("Max"),
		Policies: autoscalingv2.HPAScalingPolicyArray{&autoscalingv2.HPAScalingPolicyArgs{
			Type: pulumi.String(policyType), Value: pulumi.Int(value), PeriodSeconds: pulumi.Int(periodSeconds),
		}},
	}
}

// tenPercent is the disruption budget of a stateless tier: a drain takes a tenth of it at once
// (at least one pod), so 100 API pods do not drain one by one.
var tenPercent = pulumi.String("10%")
