package logging

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The bundled log store's names and port.
const (
	StoreName      = "pynomaly-logs"
	StoreComponent = "logs"
	StorePort      = 9428
	// storeDataPath is where the claim is mounted.
	storeDataPath = "/vlogs"
	// storeUID is nobody: VictoriaLogs needs no user of its own.
	storeUID = tier.NobodyUID
)

// StoreLogsPath is VictoriaLogs's OTLP/HTTP logs endpoint.
const StoreLogsPath = "/insert/opentelemetry/v1/logs"

// StoreFlags are VictoriaLogs's flags for a store that keeps logs for retention on a claim of
// claimSize, listening on listen (:9428 in a pod) with its data in dataPath. It also stops at 85 %
// of the claim, dropping the oldest days first: a burst of lines can never fill the volume and
// stop ingestion, whatever the retention.
func StoreFlags(retention, claimSize, listen, dataPath string) ([]string, error) {
	size, err := resource.ParseQuantity(claimSize)
	if err != nil {
		return nil, fmt.Errorf("log store claim %q: %w", claimSize, err)
	}
	return []string{
		"-storageDataPath=" + dataPath,
		"-retentionPeriod=" + retention,
		fmt.Sprintf("-retention.maxDiskSpaceUsageBytes=%d", size.Value()*85/100),
		"-httpListenAddr=" + listen,
		"-loggerFormat=json",
	}, nil
}

// StoreArgs configures the bundled log store.
type StoreArgs struct {
	tier.Context
	Settings config.Logging
	Image    string
	Volumes  kube.Volumes
}

// LogStore is the bundled log store: one VictoriaLogs with a claim, behind a Service. The collectors
// keep what they could not send on their nodes, so a restart of the store loses no line.
type LogStore struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	// URL is the store's base URL in the cluster; empty when the stack bundles none.
	URL pulumi.StringOutput `pulumi:"url"`
}

// NewStore creates the log store tier: nothing unless logging.mode is bundled.
func NewStore(ctx *pulumi.Context, name string, args *StoreArgs, opts ...pulumi.ResourceOption) (*LogStore, error) {
	c := &LogStore{URL: pulumi.String("").ToStringOutput()}
	if err := ctx.RegisterComponentResource(tier.Type("LogStore"), name, c, opts...); err != nil {
		return nil, err
	}
	if args.Settings.Mode != config.LoggingBundled {
		c.Keep(pulumi.Map{})
		return c, nil
	}
	ns := args.Namespace
	ports := corev1.ServicePortArray{kube.ServicePort("http", StorePort)}
	selector := kube.SelectorLabels(StoreComponent)
	headless, err := kube.NewService(ctx, c, ns, kube.Service{Name: StoreName + "-headless", Component: StoreComponent, Selector: selector, Ports: ports, Headless: true})
	if err != nil {
		return nil, err
	}
	svc, err := kube.NewService(ctx, c, ns, kube.Service{Name: StoreName, Component: StoreComponent, Selector: selector, Ports: ports})
	if err != nil {
		return nil, err
	}
	set, err := storeStatefulSet(args, headless.Metadata.Name().Elem())
	if err != nil {
		return nil, err
	}
	_, w, err := kube.NewStatefulSet(ctx, c, ns, set)
	if err != nil {
		return nil, err
	}
	c.Add(w)
	c.URL = pulumi.Sprintf("http://%s.%s.svc:%d", svc.Metadata.Name().Elem(), ns, StorePort)
	c.Keep(pulumi.Map{"url": c.URL})
	return c, nil
}

// PlanStore is the log store before it is declared: its StatefulSet when bundled.
func PlanStore(args *StoreArgs) (tier.Plan, error) {
	if args.Settings.Mode != config.LoggingBundled {
		return tier.Plan{}, nil
	}
	set, err := storeStatefulSet(args, nil)
	return tier.Plan{Objects: []kube.Object{set}}, err
}

// storeStatefulSet is VictoriaLogs's StatefulSet; headless is its Service's name once declared.
func storeStatefulSet(args *StoreArgs, headless pulumi.StringInput) (kube.StatefulSet, error) {
	s := args.Settings
	flags, err := StoreFlags(s.Retention, s.StorageSize, fmt.Sprintf(":%d", StorePort), storeDataPath)
	if err != nil {
		return kube.StatefulSet{}, err
	}
	return kube.StatefulSet{
		Name: StoreName, Replicas: 1, ServiceName: headless,
		Pod: kube.Pod{
			Component: StoreComponent, UID: storeUID, GID: storeUID,
			Metrics:            &kube.Metrics{Port: StorePort, Path: "/metrics"},
			GracePeriodSeconds: 60,
			Containers: []kube.Container{{
				Name: "victoria-logs", Image: args.Image,
				Command:        append([]string{"/victoria-logs-prod"}, flags...),
				Ports:          []kube.Port{{Name: "http", Port: StorePort}},
				Resources:      s.Resources,
				ReadinessProbe: kube.Readiness(kube.HTTPGet("/health", StorePort)),
				LivenessProbe:  kube.Alive(StorePort),
				Mounts:         corev1.VolumeMountArray{kube.Mount(tier.DataClaimTemplate, storeDataPath)},
			}},
		},
		Claim:   kube.Claim{Name: tier.DataClaimTemplate, Size: s.StorageSize},
		Volumes: args.Volumes,
	}, nil
}

// StreamFields are the labels that make a log stream in VictoriaLogs: where a line comes from,
// not the pod's uid or restart count, so a restarted pod continues its stream.
func StreamFields() []string { return Labels }
