// Package influxdb is the InfluxDB tier: InfluxDB 2 onboarded by its own hook, its setup job
// (buckets, retention, the downsampling task, Grafana's read-only login, the application's own
// token) and its nightly backups.
package influxdb

import (
	"fmt"
	"strings"
	"text/template"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names and identities of the InfluxDB tier.
const (
	ServiceName            = "pynomaly-influxdb"
	HeadlessService        = "pynomaly-influxdb-headless"
	SetupJob               = "pynomaly-influxdb-setup"
	Port                   = 8086
	Org                    = "pynomaly"
	Bucket                 = "metrics"
	LongTermBucket         = "metrics_longterm"
	influxDBDownsampleTask = "downsample-metrics"
	// The user and group InfluxDB and its setup job run as. The official image runs as any
	// user that owns or shares the group of its volumes (its entry point changes ownership only
	// when started as root); fsGroup gives the data volume to this group.
	influxUID = 11000
)

var downsampleFlux = assets.Text("downsample.flux")

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
		"Bucket": Bucket, "LongTermBucket": LongTermBucket, "Org": Org,
	})
	return b.String(), err
}

// Args configures the InfluxDB tier.
type Args struct {
	tier.Context
	Settings config.InfluxDB
	Image    string
	// Volumes is where the StatefulSet's claims are made and whether they grow in place.
	Volumes kube.Volumes
	// Secret is the influxdb credentials Secret of the secrets tier.
	Secret pulumi.StringInput
	// BackupClaim is the claim the daily backup is written to.
	BackupClaim pulumi.StringInput
}

// InfluxDB is the seed's data-science-influxdb.yaml: InfluxDB 2 set up from the secrets tier
// whenever it starts empty, the high-resolution bucket kept 30 days, and a downsampling task into a
// long-term bucket, created and kept current by an idempotent job.
type InfluxDB struct {
	pulumi.ResourceState
	tier.OutputSet
	tier.Workloads

	URL        pulumi.StringOutput `pulumi:"url"`
	Org        string
	Bucket     string
	SecretName pulumi.StringOutput `pulumi:"secretName"`
	TokenKey   string
	// AppTokenSecret is the Secret that holds the application's own token, under AppTokenKey.
	AppTokenSecret pulumi.StringOutput `pulumi:"appTokenSecret"`
	Ready          []pulumi.Resource
}

// New creates the InfluxDB tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*InfluxDB, error) {
	c := &InfluxDB{Org: Org, Bucket: Bucket, TokenKey: credentials.InfluxDBAdminTokenKey}
	if err := ctx.RegisterComponentResource(tier.Type("InfluxDB"), name, c, opts...); err != nil {
		return nil, err
	}
	ns := args.Namespace
	port := corev1.ServicePortArray{kube.ServicePort("http", Port)}
	selector := kube.SelectorLabels("influxdb")
	headless, err := kube.NewService(ctx, c, ns, kube.Service{Name: HeadlessService, Component: "influxdb", Selector: selector, Ports: port, Headless: true})
	if err != nil {
		return nil, err
	}
	svc, err := kube.NewService(ctx, c, ns, kube.Service{Name: ServiceName, Component: "influxdb", Selector: selector, Ports: port})
	if err != nil {
		return nil, err
	}
	sts, w, err := kube.NewStatefulSet(ctx, c, ns, statefulSet(args, headless.Metadata.Name().Elem()))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	scheme := "http"
	if args.TLS {
		scheme = "https"
	}
	c.URL = pulumi.Sprintf("%s://%s.%s.svc:%d", scheme, svc.Metadata.Name().Elem(), ns, Port)
	appToken, err := appTokenSecret(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	c.AppTokenSecret = appToken.Metadata.Name().Elem()
	job, err := influxDBSetupJob(ctx, c, args, sts, appToken)
	if err != nil {
		return nil, err
	}
	if err := influxDBBackup(ctx, c, args); err != nil {
		return nil, err
	}
	c.SecretName = args.Secret.ToStringOutput()
	c.Ready = []pulumi.Resource{sts, job}
	c.Keep(pulumi.Map{"url": c.URL, "secretName": c.SecretName, "appTokenSecret": c.AppTokenSecret})
	return c, nil
}

// Plan is the InfluxDB tier before it is declared: the StatefulSet, its setup job and the backup.
func Plan(args *Args) (tier.Plan, error) {
	setup, err := setupJob(args, nil)
	if err != nil {
		return tier.Plan{}, err
	}
	return tier.Plan{Objects: []kube.Object{statefulSet(args, nil), setup, backupCronJob(args, nil)}}, nil
}

// statefulSet is InfluxDB's StatefulSet; headless is its headless Service's name once declared.
func statefulSet(args *Args, headless pulumi.StringInput) kube.StatefulSet {
	return kube.StatefulSet{
		Name: ServiceName, Replicas: args.Settings.Replicas, ServiceName: headless,
		Pod:     Pod(args),
		Claim:   kube.Claim{Name: tier.DataClaimTemplate, Size: args.Settings.StorageSize},
		Volumes: args.Volumes,
	}
}

// Pod runs InfluxDB 2, onboarded by its own postStart hook (OnboardHook). The
// image's first-start setup is left off: it passes the admin password to `influx setup` as an
// argument.
func Pod(args *Args) kube.Pod {
	s := args.Settings
	pod := kube.Pod{
		Component: "influxdb", UID: influxUID, GID: influxUID,
		Metrics:            &kube.Metrics{Port: Port, Path: "/metrics"},
		GracePeriodSeconds: 60,
		Containers: []kube.Container{{
			Name:  "influxdb",
			Image: args.Image,
			Env: corev1.EnvVarArray{
				kube.Env("INFLUXD_BOLT_PATH", "/var/lib/influxdb2/influxd.bolt"),
				kube.Env("INFLUXD_ENGINE_PATH", "/var/lib/influxdb2/engine"),
				kube.Env("INFLUXD_REPORTING_DISABLED", "true"),
				kube.SecretEnv("ADMIN_USERNAME", args.Secret, credentials.InfluxDBAdminUserKey),
				kube.SecretEnv("ADMIN_PASSWORD", args.Secret, credentials.InfluxDBAdminPasswordKey),
				kube.SecretEnv("ADMIN_TOKEN", args.Secret, credentials.InfluxDBAdminTokenKey),
			},
			Lifecycle: &corev1.LifecycleArgs{PostStart: &corev1.LifecycleHandlerArgs{
				Exec: &corev1.ExecActionArgs{Command: pulumi.ToStringArray([]string{"/bin/sh", "-ec", OnboardHook(args.TLS)})},
			}},
			Ports:          []kube.Port{{Name: "http", Port: Port}},
			Resources:      s.Resources,
			ReadinessProbe: kube.Readiness(kube.HTTPGet("/health", Port)),
			LivenessProbe:  kube.Alive(Port),
			Mounts: corev1.VolumeMountArray{
				kube.Mount("data", "/var/lib/influxdb2"), kube.Mount("config", "/etc/influxdb2"), kube.Mount("tmp", "/tmp"),
			},
		}},
		Volumes: corev1.VolumeArray{kube.EmptyDir("config", false), kube.EmptyDir("tmp", false)},
	}
	if args.TLS {
		// https only: the API and /metrics, which Prometheus verifies under the Service's name.
		main := &pod.Containers[0]
		main.Env = append(main.Env,
			kube.Env("INFLUXD_TLS_CERT", tier.ServerTLSMountPath+"/tls.crt"),
			kube.Env("INFLUXD_TLS_KEY", tier.ServerTLSMountPath+"/tls.key"),
			kube.Env("INFLUXD_TLS_MIN_VERSION", "1.2"))
		main.ReadinessProbe = kube.Readiness(kube.HTTPSGet("/health", Port))
		pod.Metrics.TLSServerName = ServiceName
		tier.ServeTLS(&pod, ServerTLS(s.Replicas), true, "influxdb")
	}
	return pod
}

// OnboardHook sets up an InfluxDB that starts with an empty volume, a new one or one that
// lost its volume: the admin user, password and token of the credentials Secret, the organization
// and the metrics bucket (its retention follows from the setup job), once; a server already set
// up is left alone. It runs in the pod, after every start, so the server is set up before it is
// Ready and whatever restarts it. Over the loopback, through the HTTP API with the body on
// standard input, so no secret is an argument; the generated values need no JSON escaping.
func OnboardHook(tls bool) string {
	curl, url := "curl -fsS", fmt.Sprintf("http://127.0.0.1:%d", Port)
	if tls {
		// The certificate names the Service: the loopback under that name.
		curl = fmt.Sprintf("curl -fsS --cacert %s/ca.crt --resolve %s:%d:127.0.0.1", tier.ServerTLSMountPath, ServiceName, Port)
		url = fmt.Sprintf("https://%s:%d", ServiceName, Port)
	}
	return tier.Fill(influxDBOnboardTemplate, map[string]string{"Curl": curl, "URL": url, "Org": Org, "Bucket": Bucket})
}

var influxDBOnboardTemplate = assets.ScriptTemplate("onboard.sh.tmpl")

// influxDBSetupScript keeps the buckets' retention and the downsampling task, then Grafana's
// read-only login: a v1-compatible authorization (user name and password, InfluxQL) that may
// read the metrics bucket and nothing else, created when missing, its password set on every run
// so a rotation reaches it. The password is set through the HTTP API: the influx CLI would take
// it as an argument, visible in the process list. The admin token goes to curl as a header file
// and the password as the body on standard input (printf is the shell's own), so neither is ever
// an argument. The generated password is letters and digits: no JSON escaping is needed.
// Last, the application's token (see AppTokenSecret): kept, and written into its Secret through
// the Kubernetes API.
func influxDBSetupScript(retention, longTermRetention string) string {
	return tier.Fill(influxDBSetupTemplate, map[string]string{
		"Bucket": Bucket, "Retention": retention,
		"LongTermBucket": LongTermBucket, "LongTermRetention": longTermRetention,
		"TaskName": influxDBDownsampleTask,
		"AppAuth":  appAuthDescription, "AppTokenSecret": AppTokenSecret, "AppTokenKey": AppTokenKey, "TokenDir": kube.TokenDir,
	})
}

var influxDBSetupTemplate = assets.ScriptTemplate("setup.sh.tmpl")

// influxDBSetupJob keeps the buckets and the downsampling task as the settings say,
// idempotently: retention follows the settings, the long-term bucket and the task are created
// when missing and updated otherwise. It runs once InfluxDB, the application's token Secret and
// its right to write that Secret are there.
func influxDBSetupJob(ctx *pulumi.Context, c *InfluxDB, args *Args, sts *appsv1.StatefulSet, appToken pulumi.Resource) (pulumi.Resource, error) {
	setup, err := setupJob(args, c.URL)
	if err != nil {
		return nil, err
	}
	access, err := setupAccess(ctx, c, args.Namespace)
	if err != nil {
		return nil, err
	}
	job, w, err := kube.NewJob(ctx, c, args.Namespace, setup, kube.After([]pulumi.Resource{sts, appToken, access}))
	if err != nil {
		return nil, err
	}
	c.Add(w)
	return job, nil
}

// setupJob is the setup Job; url is InfluxDB's once its Service is declared.
func setupJob(args *Args, url pulumi.StringInput) (kube.Job, error) {
	s := args.Settings
	task, err := DownsampleTask(s)
	if err != nil {
		return kube.Job{}, fmt.Errorf("influxdb: downsample task: %w", err)
	}
	pod := kube.ScriptPod(setupComponent, args.Image, tier.JobResources, influxUID, influxDBSetupScript(s.Retention, s.LongTermRetention), corev1.EnvVarArray{
		kube.EnvOutput("INFLUX_HOST", url),
		kube.Env("INFLUX_ORG", Org),
		kube.SecretEnv("INFLUX_TOKEN", args.Secret, credentials.InfluxDBAdminTokenKey),
		kube.Env("DOWNSAMPLE_TASK", task),
		kube.Env("INFLUX_CONFIGS_PATH", "/tmp/influx-configs"),
		kube.Env("READER_USERNAME", credentials.InfluxDBReaderUser),
		kube.SecretEnv("READER_PASSWORD", args.Secret, credentials.InfluxDBReaderPasswordKey),
	}, nil, nil)
	// The one container, which writes the application's token into its Secret.
	pod.APIClient = setupComponent
	influxCLITrust(&pod, args.TLS)
	return kube.Job{Name: SetupJob, Pod: pod, BackoffLimit: 6, DeadlineSeconds: 600}, nil
}

// ServerTLS is InfluxDB's Services and pods.
func ServerTLS(replicas int) tier.TLSServer {
	return tier.TLSServer{Name: ServiceName, Hosts: tier.StatefulHosts(ServiceName, HeadlessService, ServiceName, replicas)}
}
