package components

import (
	"fmt"

	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

const (
	APIName          = "pynomaly-api"
	APIHealthPath    = "/api/v1/health"
	apiShutdownDelay = 10
)

// APIArgs configures the API tier.
type APIArgs struct {
	Namespace pulumi.StringInput
	Settings  config.Autoscaled
	Image     string
	Env       AppEnv
	// APISecret holds the API's signing key.
	APISecret pulumi.StringInput
	// After are what the API must not start before: the databases, ready, and the migrations.
	After []pulumi.Resource
}

// API is the seed's data-science-api.yaml: the FastAPI Deployment, its HPA (5-100 in prod, CPU
// 70% / memory 80%, fast up, slow down), a disruption budget and the Service.
type API struct {
	pulumi.ResourceState

	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	URL         pulumi.StringOutput `pulumi:"url"`
}

// NewAPI creates the API tier.
func NewAPI(ctx *pulumi.Context, name string, args *APIArgs, opts ...pulumi.ResourceOption) (*API, error) {
	c := &API{}
	if err := ctx.RegisterComponentResource(componentType("API"), name, c, opts...); err != nil {
		return nil, err
	}
	ns := args.Namespace
	envFrom, env := args.Env.env(
		secretEnv("SECRET_KEY", args.APISecret, APISecretKeyKey),
		&corev1.EnvVarArgs{Name: pulumi.String("DATABASE_POOL_SIZE"), Value: pulumi.String(fmt.Sprint(args.Settings.DBPoolSize))},
	)
	health := func() *corev1.ProbeArgs { return httpGet(APIHealthPath, APIPort) }
	startup := health()
	// Up to 150 s to boot (model loading) before liveness starts counting.
	startup.PeriodSeconds, startup.FailureThreshold = pulumi.Int(5), pulumi.Int(30)
	pod := &corev1.PodSpecArgs{
		// preStop delay + in-flight requests.
		TerminationGracePeriodSeconds: pulumi.Int(45),
		InitContainers:                args.Env.waitForDatabases(),
		Containers: corev1.ContainerArray{&corev1.ContainerArgs{
			Name:            pulumi.String("api"),
			Image:           pulumi.String(args.Image),
			Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(APIPort)}},
			EnvFrom:         envFrom,
			Env:             env,
			Resources:       resources(args.Settings.Resources),
			SecurityContext: containerSecurity(true),
			StartupProbe:    startup,
			ReadinessProbe:  readiness(health()),
			LivenessProbe:   liveness(health()),
			// Endpoints are removed asynchronously: keep serving for a moment after the pod is
			// marked terminating, so no request is sent to a closed socket.
			Lifecycle: &corev1.LifecycleArgs{PreStop: &corev1.LifecycleHandlerArgs{
				Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(apiShutdownDelay)},
			}},
			VolumeMounts: corev1.VolumeMountArray{mount("tmp", "/tmp")},
		}},
		Volumes: corev1.VolumeArray{emptyDir("tmp", false)},
	}
	d, err := appDeployment(ctx, c, ns, APIName, "api", pod, scrapeAnnotations(APIPort), args.After)
	if err != nil {
		return nil, err
	}
	// The seed: scale up aggressively (double every 15 s), down conservatively (a tenth per
	// minute, after five minutes of lower load).
	behavior := &autoscalingv2.HorizontalPodAutoscalerBehaviorArgs{
		ScaleUp:   scalingRules(0, "Percent", 100, 15),
		ScaleDown: scalingRules(300, "Percent", 10, 60),
	}
	if _, err := autoscaler(ctx, c, ns, APIName, "api", d, args.Settings, nil, behavior); err != nil {
		return nil, err
	}
	if _, err := podDisruptionBudget(ctx, c, ns, APIName, "api", selectorLabels("api"), tenPercent); err != nil {
		return nil, err
	}
	meta := objectMeta(ctx, ns, APIServiceName, "api")
	meta.Annotations = scrapeAnnotations(APIPort)
	svc, err := corev1.NewService(ctx, APIServiceName, &corev1.ServiceArgs{
		Metadata: meta,
		Spec: &corev1.ServiceSpecArgs{
			Selector: selectorLabels("api"),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Port: pulumi.Int(APIPort), TargetPort: pulumi.String("http"),
			}},
		},
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("api: service: %w", err)
	}
	c.ServiceName = svc.Metadata.Name().Elem()
	c.URL = pulumi.Sprintf("http://%s.%s.svc:%d", c.ServiceName, ns, APIPort)
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"serviceName": c.ServiceName, "url": c.URL})
}
