// Package app is the application tier: the shared configuration, the database migration, the API
// and the workers, whose pods share one environment (pod.go).
package app

import (
	"fmt"

	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names and ports of the API tier.
const (
	APIName          = "pynomaly-api"
	APIServiceName   = "pynomaly-api-service"
	APIPort          = 8000
	APIHealthPath    = "/api/v1/health"
	apiShutdownDelay = 10
)

// APIArgs configures the API tier.
type APIArgs struct {
	tier.Context
	Settings config.Autoscaled
	Image    string
	Env      Env
	// APISecret holds the API's signing key.
	APISecret pulumi.StringInput
	// After are what the API must not start before: the databases, ready, and the migrations.
	After []pulumi.Resource
	// Stopped holds the Deployment at zero pods: a standby stack's writers (postgres.standby).
	Stopped bool
}

// API is the seed's data-science-api.yaml: the FastAPI Deployment, its HPA (5-100 in prod, CPU
// 70% / memory 80%, fast up, slow down), a disruption budget and the Service.
type API struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	URL         pulumi.StringOutput `pulumi:"url"`
	// Ready is the Deployment: what waits for the API to have rolled depends on it.
	Ready []pulumi.Resource
}

// NewAPI creates the API tier.
func NewAPI(ctx *pulumi.Context, name string, args *APIArgs, opts ...pulumi.ResourceOption) (*API, error) {
	c := &API{}
	if err := ctx.RegisterComponentResource(tier.Type("API"), name, c, opts...); err != nil {
		return nil, err
	}
	ns := args.Namespace
	planned := apiDeployment(args)
	pod := planned.Pod
	d, w, err := kube.NewAutoscaled(ctx, c, ns, planned, kube.After(args.After))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	c.Ready = []pulumi.Resource{d}
	svc, err := kube.NewService(ctx, c, ns, kube.Service{
		Name: APIServiceName, Component: "api", Selector: pod.Selector(),
		Ports:       corev1.ServicePortArray{kube.NamedServicePort("http", APIPort)},
		Annotations: pod.Metrics.Annotations(),
	})
	if err != nil {
		return nil, err
	}
	c.ServiceName = svc.Metadata.Name().Elem()
	c.URL = pulumi.Sprintf("http://%s.%s.svc:%d", c.ServiceName, ns, APIPort)
	c.Keep(pulumi.Map{"serviceName": c.ServiceName, "url": c.URL})
	return c, nil
}

func apiContainer(args *APIArgs) kube.Container {
	c := args.Env.container("api", args.Image, args.Settings.Resources,
		kube.SecretEnv("SECRET_KEY", args.APISecret, credentials.APISecretKeyKey),
		kube.Env("DATABASE_POOL_SIZE", fmt.Sprint(args.Settings.DBPoolSize)),
	)
	c.Ports = []kube.Port{{Name: "http", Port: APIPort}}
	health := func() *corev1.ProbeArgs { return kube.HTTPGet(APIHealthPath, APIPort) }
	// Up to 150 s to boot (model loading) before liveness starts counting.
	c.StartupProbe = health()
	c.StartupProbe.PeriodSeconds, c.StartupProbe.FailureThreshold = pulumi.Int(5), pulumi.Int(30)
	c.ReadinessProbe, c.LivenessProbe = kube.Readiness(health()), kube.Alive(APIPort)
	// Endpoints are removed asynchronously: keep serving for a moment after the pod is marked
	// terminating, so no request is sent to a closed socket.
	c.Lifecycle = &corev1.LifecycleArgs{PreStop: &corev1.LifecycleHandlerArgs{
		Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(apiShutdownDelay)},
	}}
	return c
}

// PlanAPI is the API tier before it is declared: its autoscaled Deployment.
func PlanAPI(args *APIArgs) (tier.Plan, error) {
	return tier.Plan{Objects: []kube.Object{apiDeployment(args)}}, nil
}

// apiDeployment is the API's Deployment and autoscaler.
func apiDeployment(args *APIArgs) kube.Autoscaled {
	return kube.Autoscaled{
		Deployment: rollout(APIName, args.Env.appPod(args.TLS, "api", apiContainer(args), APIPort, apiGracePeriod)),
		Scaling:    scaling(args.Settings),
		Stopped:    args.Stopped,
		// The seed: scale up aggressively (double every 15 s), down conservatively (a tenth
		// per minute, after five minutes of lower load).
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehaviorArgs{
			ScaleUp:   kube.ScalingRules(0, "Percent", 100, 15),
			ScaleDown: kube.ScalingRules(300, "Percent", 10, 60),
		},
	}
}
