package components

import (
	_ "embed"
	"fmt"
	"strings"
	"text/template"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
)

const (
	InfluxDBHeadlessService = "pynomaly-influxdb-headless"
	InfluxDBSetupJob        = "pynomaly-influxdb-setup"
	InfluxDBLongTermBucket  = "metrics_longterm"
	influxDBDownsampleTask  = "downsample-metrics"
	// The official image's influxdb user.
	influxUID = 1000
)

//go:embed assets/influxdb/downsample.flux
var downsampleFlux string

// DownsampleTask is the Flux task that averages the high-resolution bucket into the long-term
// one every s.DownsampleEvery.
func DownsampleTask(s config.InfluxDB) (string, error) {
	t, err := template.New("downsample").Parse(downsampleFlux)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = t.Execute(&b, map[string]string{
		"TaskName": influxDBDownsampleTask, "Every": s.DownsampleEvery, "Window": "5m",
		"Bucket": InfluxDBBucket, "LongTermBucket": InfluxDBLongTermBucket, "Org": InfluxDBOrg,
	})
	return b.String(), err
}

// InfluxDBArgs configures the InfluxDB tier.
type InfluxDBArgs struct {
	Namespace    pulumi.StringInput
	Settings     config.InfluxDB
	Image        string
	StorageClass pulumi.StringInput
	// Secret is the influxdb credentials Secret of the secrets tier.
	Secret  pulumi.StringInput
	Protect bool
}

// InfluxDB is the seed's data-science-influxdb.yaml: InfluxDB 2 set up at first start from the
// secrets tier, the high-resolution bucket kept 30 days, and a downsampling task into a
// long-term bucket, created and kept current by an idempotent job.
type InfluxDB struct {
	pulumi.ResourceState

	URL        pulumi.StringOutput `pulumi:"url"`
	Org        string
	Bucket     string
	SecretName pulumi.StringOutput `pulumi:"secretName"`
	TokenKey   string
	Ready      []pulumi.Resource
}

// NewInfluxDB creates the InfluxDB tier.
func NewInfluxDB(ctx *pulumi.Context, name string, args *InfluxDBArgs, opts ...pulumi.ResourceOption) (*InfluxDB, error) {
	c := &InfluxDB{Org: InfluxDBOrg, Bucket: InfluxDBBucket, TokenKey: InfluxDBAdminTokenKey}
	if err := ctx.RegisterComponentResource(componentType("InfluxDB"), name, c, opts...); err != nil {
		return nil, err
	}
	ns, s, parent := args.Namespace, args.Settings, pulumi.Parent(c)
	port := corev1.ServicePortArray{servicePort("http", InfluxDBPort)}
	headless, err := service(ctx, c, ns, InfluxDBHeadlessService, "influxdb", selectorLabels("influxdb"), port, true)
	if err != nil {
		return nil, err
	}
	svc, err := service(ctx, c, ns, InfluxDBServiceName, "influxdb", selectorLabels("influxdb"), port, false)
	if err != nil {
		return nil, err
	}
	sts, err := appsv1.NewStatefulSet(ctx, InfluxDBServiceName, &appsv1.StatefulSetArgs{
		Metadata: objectMeta(ctx, ns, InfluxDBServiceName, "influxdb"),
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName:                          headless.Metadata.Name().Elem(),
			Replicas:                             pulumi.Int(s.Replicas),
			Selector:                             &metav1.LabelSelectorArgs{MatchLabels: selectorLabels("influxdb")},
			PersistentVolumeClaimRetentionPolicy: statefulSetRetention(),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels(ctx, "influxdb"), Annotations: scrapeAnnotations(InfluxDBPort)},
				Spec: &corev1.PodSpecArgs{
					AutomountServiceAccountToken:  pulumi.Bool(false),
					SecurityContext:               podSecurity(influxUID, influxUID),
					TerminationGracePeriodSeconds: pulumi.Int(60),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String("influxdb"),
						Image: pulumi.String(args.Image),
						// The image's first-start setup: it runs once, when the volume is empty.
						Env: corev1.EnvVarArray{
							env("DOCKER_INFLUXDB_INIT_MODE", "setup"),
							secretEnv("DOCKER_INFLUXDB_INIT_USERNAME", args.Secret, InfluxDBAdminUserKey),
							secretEnv("DOCKER_INFLUXDB_INIT_PASSWORD", args.Secret, InfluxDBAdminPasswordKey),
							secretEnv("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN", args.Secret, InfluxDBAdminTokenKey),
							env("DOCKER_INFLUXDB_INIT_ORG", InfluxDBOrg),
							env("DOCKER_INFLUXDB_INIT_BUCKET", InfluxDBBucket),
							env("DOCKER_INFLUXDB_INIT_RETENTION", s.Retention),
							env("INFLUXD_BOLT_PATH", "/var/lib/influxdb2/influxd.bolt"),
							env("INFLUXD_ENGINE_PATH", "/var/lib/influxdb2/engine"),
							env("INFLUXD_REPORTING_DISABLED", "true"),
						},
						Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(InfluxDBPort)}},
						Resources:       resources(s.Resources),
						SecurityContext: containerSecurity(true),
						ReadinessProbe:  readiness(httpGet("/health", InfluxDBPort)),
						LivenessProbe:   liveness(httpGet("/health", InfluxDBPort)),
						VolumeMounts: corev1.VolumeMountArray{
							mount("data", "/var/lib/influxdb2"),
							mount("config", "/etc/influxdb2"),
							mount("tmp", "/tmp"),
						},
					}},
					Volumes: corev1.VolumeArray{emptyDir("config", false), emptyDir("tmp", false)},
				},
			},
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{
				claimTemplate(ctx, "data", "influxdb", s.StorageSize, args.StorageClass),
			},
		},
	}, parent, stateful(args.Protect))
	if err != nil {
		return nil, fmt.Errorf("influxdb: statefulset: %w", err)
	}
	if _, err := podDisruptionBudget(ctx, c, ns, InfluxDBServiceName, "influxdb", selectorLabels("influxdb"), oneAtATime); err != nil {
		return nil, err
	}

	c.URL = pulumi.Sprintf("http://%s.%s.svc:%d", svc.Metadata.Name().Elem(), ns, InfluxDBPort)
	task, err := DownsampleTask(s)
	if err != nil {
		return nil, fmt.Errorf("influxdb: downsample task: %w", err)
	}
	// Idempotent: retention follows the settings, the long-term bucket and the task are created
	// when missing and updated otherwise.
	script := fmt.Sprintf(`until influx ping >/dev/null 2>&1; do echo "waiting for influxdb"; sleep 2; done
bucket_id() { influx bucket list --name "$1" --hide-headers 2>/dev/null | awk '{print $1}'; }
influx bucket update --id "$(bucket_id %[1]s)" --retention %[2]s
if [ -z "$(bucket_id %[3]s)" ]; then influx bucket create --name %[3]s --retention %[4]s; fi
influx bucket update --id "$(bucket_id %[3]s)" --retention %[4]s
printf '%%s\n' "$DOWNSAMPLE_TASK" > /tmp/downsample.flux
task=$(influx task list --hide-headers | awk '$2 == "%[5]s" {print $1}')
if [ -n "$task" ]; then influx task update --id "$task" --file /tmp/downsample.flux; else influx task create --file /tmp/downsample.flux; fi
echo "influxdb setup done"`, InfluxDBBucket, s.Retention, InfluxDBLongTermBucket, s.LongTermRetention, influxDBDownsampleTask)
	pod := jobPod(ctx, "influxdb-setup", args.Image, influxUID, script, corev1.EnvVarArray{
		&corev1.EnvVarArgs{Name: pulumi.String("INFLUX_HOST"), Value: c.URL},
		env("INFLUX_ORG", InfluxDBOrg),
		secretEnv("INFLUX_TOKEN", args.Secret, InfluxDBAdminTokenKey),
		env("DOWNSAMPLE_TASK", task),
		env("INFLUX_CONFIGS_PATH", "/tmp/influx-configs"),
	}, nil, nil)
	job, err := batchv1.NewJob(ctx, InfluxDBSetupJob, &batchv1.JobArgs{
		Metadata: objectMeta(ctx, ns, InfluxDBSetupJob, "influxdb-setup"),
		Spec:     &batchv1.JobSpecArgs{BackoffLimit: pulumi.Int(6), ActiveDeadlineSeconds: pulumi.Int(600), Template: pod},
	}, parent, pulumi.DependsOn([]pulumi.Resource{sts}), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("influxdb: setup job: %w", err)
	}
	c.SecretName = args.Secret.ToStringOutput()
	c.Ready = []pulumi.Resource{sts, job}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"url": c.URL, "secretName": c.SecretName})
}
