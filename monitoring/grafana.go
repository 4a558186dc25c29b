package monitoring

import (
	"fmt"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/credentials"
	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

const (
	grafanaProvisioning = "/etc/grafana/provisioning"
	grafanaDashboards   = grafanaProvisioning + "/dashboards"
)

// Environment variables Grafana expands in its datasource provisioning: the InfluxDB read-only
// login, from the InfluxDB Secret, so the password is in no ConfigMap.
const (
	grafanaInfluxUserEnv     = "INFLUXDB_READER_USER"
	grafanaInfluxPasswordEnv = "INFLUXDB_READER_PASSWORD"
)

// The log store's datasource plugin (VictoriaLogs's, signed, in Grafana's catalog), which Grafana
// installs when it starts (plugins.preinstall, Grafana 11.5 and later) at this version: a new
// version is a reviewed change, not whatever the catalog serves that day.
const (
	LogsPlugin        = "victoriametrics-logs-datasource"
	LogsPluginVersion = "0.30.1"
)

// GrafanaDatasources is Grafana's datasource provisioning file: the platform's Prometheus,
// InfluxDB (InfluxQL on the metrics bucket) through the read-only login, whose user name and
// password Grafana reads from its environment when it provisions (${VAR}), and with a bundled log
// store (logsURL; empty: none) its VictoriaLogs.
func GrafanaDatasources(prometheusURL, influxURL, logsURL string) string {
	type datasource struct {
		Name           string            `yaml:"name"`
		Type           string            `yaml:"type"`
		UID            string            `yaml:"uid"`
		Access         string            `yaml:"access"`
		URL            string            `yaml:"url"`
		User           string            `yaml:"user,omitempty"`
		IsDefault      bool              `yaml:"isDefault"`
		Editable       bool              `yaml:"editable"`
		JSONData       map[string]string `yaml:"jsonData,omitempty"`
		SecureJSONData map[string]string `yaml:"secureJsonData,omitempty"`
	}
	sources := []datasource{
		{Name: "Prometheus", Type: PrometheusDatasource.Type, UID: PrometheusDatasource.UID, Access: "proxy", URL: prometheusURL, IsDefault: true},
		{
			Name: "InfluxDB", Type: "influxdb", UID: "influxdb", Access: "proxy", URL: influxURL,
			User:           "${" + grafanaInfluxUserEnv + "}",
			JSONData:       map[string]string{"version": "InfluxQL", "dbName": influxdb.Bucket, "httpMode": "GET"},
			SecureJSONData: map[string]string{"password": "${" + grafanaInfluxPasswordEnv + "}"},
		},
	}
	if logsURL != "" {
		sources = append(sources, datasource{Name: "Logs", Type: LogsDatasource.Type, UID: LogsDatasource.UID, Access: "proxy", URL: logsURL})
	}
	return marshalYAML(struct {
		APIVersion  int          `yaml:"apiVersion"`
		Datasources []datasource `yaml:"datasources"`
	}{APIVersion: 1, Datasources: sources})
}

// grafana declares Grafana: one pod (its state is provisioned, nothing is kept), the admin
// credentials from the secrets tier, and its Service.
func (c *Monitoring) grafana(ctx *pulumi.Context, args *Args, prometheusURL pulumi.StringOutput) error {
	ns := args.Namespace
	datasources := pulumi.All(prometheusURL, args.InfluxDBURL).ApplyT(func(v []any) string {
		return GrafanaDatasources(v[0].(string), v[1].(string), args.LogStoreURL)
	}).(pulumi.StringOutput)
	cm, err := corev1.NewConfigMap(ctx, GrafanaName+"-datasources", &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, "grafana"),
		Data:     pulumi.StringMap{"datasources.yaml": datasources},
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("monitoring: grafana datasources: %w", err)
	}
	dashboards := pulumi.StringMap{"dashboards.yaml": pulumi.String(DashboardProvider(grafanaDashboards))}
	for _, d := range DashboardsWith(args.SLO, args.sources()) {
		dashboards[d.UID+".json"] = pulumi.String(d.JSON())
	}
	// The provider file and the dashboards share one directory: Grafana reads only *.yaml there
	// as provisioning, and the provider only *.json.
	dcm, err := corev1.NewConfigMap(ctx, GrafanaName+"-dashboards", &corev1.ConfigMapArgs{
		Metadata: kube.AutoNamedMeta(ctx, ns, "grafana"), Data: dashboards,
	}, pulumi.Parent(c))
	if err != nil {
		return fmt.Errorf("monitoring: grafana dashboards: %w", err)
	}
	planned := grafanaDeployment(args, cm.Metadata.Name(), dcm.Metadata.Name())
	pod := planned.Pod
	_, w, err := kube.NewDeployment(ctx, c, ns, planned)
	if err != nil {
		return err
	}
	c.Add(w)
	_, err = kube.NewService(ctx, c, ns, kube.Service{
		Name: GrafanaName, Component: "grafana", Selector: pod.Selector(),
		Ports: corev1.ServicePortArray{kube.NamedServicePort("http", GrafanaPort)},
	})
	return err
}

// grafanaDeployment is Grafana's Deployment; datasources and dashboards are its ConfigMaps'
// names once declared.
func grafanaDeployment(args *Args, datasources, dashboards pulumi.StringPtrInput) kube.Deployment {
	return kube.Deployment{
		Name: GrafanaName, Pod: grafanaPod(args, datasources, dashboards), Replicas: 1, MaxSurge: pulumi.Int(1), DisruptionBudget: kube.OneAtATime,
	}
}

// grafanaPod is Grafana with a read-only root: its database, plugins and sessions on an
// emptyDir (everything it shows is provisioned), no sign-up, no phoning home.
func grafanaPod(args *Args, datasources, dashboards pulumi.StringPtrInput) kube.Pod {
	health := func() *corev1.ProbeArgs { return kube.HTTPGet("/api/health", GrafanaPort) }
	g := kube.Container{
		Name: "grafana", Image: args.Images.Grafana,
		Env: corev1.EnvVarArray{
			kube.SecretEnv("GF_SECURITY_ADMIN_USER", args.GrafanaSecret, credentials.GrafanaAdminUserKey),
			kube.SecretEnv("GF_SECURITY_ADMIN_PASSWORD", args.GrafanaSecret, credentials.GrafanaAdminPasswordKey),
			kube.SecretEnv(grafanaInfluxUserEnv, args.InfluxDBSecret, credentials.InfluxDBReaderUserKey),
			kube.SecretEnv(grafanaInfluxPasswordEnv, args.InfluxDBSecret, credentials.InfluxDBReaderPasswordKey),
			kube.Env("GF_PATHS_DATA", "/var/lib/grafana"),
			kube.Env("GF_PATHS_PROVISIONING", grafanaProvisioning),
			kube.Env("GF_USERS_ALLOW_SIGN_UP", "false"),
			kube.Env("GF_AUTH_ANONYMOUS_ENABLED", "false"),
			kube.Env("GF_ANALYTICS_REPORTING_ENABLED", "false"),
			kube.Env("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
			kube.Env("GF_LOG_MODE", "console"),
		},
		Ports:          []kube.Port{{Name: "http", Port: GrafanaPort}},
		Resources:      args.Grafana.Resources,
		ReadinessProbe: kube.Readiness(health()),
		LivenessProbe:  kube.Alive(GrafanaPort),
		Mounts: corev1.VolumeMountArray{
			kube.ReadOnlyMount("datasources", grafanaProvisioning+"/datasources"),
			kube.ReadOnlyMount("dashboards", grafanaDashboards),
			kube.Mount("data", "/var/lib/grafana"), kube.Mount("tmp", "/tmp"),
		},
	}
	if args.LogStoreURL != "" {
		// The logs datasource's plugin, downloaded from Grafana's catalog into the data emptyDir
		// at each start (in the background: the logs panel fills in once it is there).
		g.Env = append(g.Env, kube.Env("GF_PLUGINS_PREINSTALL", LogsPlugin+"@"+LogsPluginVersion))
	}
	if u := args.GrafanaRootURL; u != "" {
		// Reached through the edge: links and redirects name the public URL; behind https its
		// session cookie is sent over https only.
		g.Env = append(g.Env, kube.Env("GF_SERVER_ROOT_URL", u))
		if strings.HasPrefix(u, "https://") {
			g.Env = append(g.Env, kube.Env("GF_SECURITY_COOKIE_SECURE", "true"))
		}
	}
	if args.TLS {
		// The InfluxDB datasource is https: Grafana (Go) trusts the bundle SSL_CERT_FILE names.
		g.Env = append(g.Env, kube.Env("SSL_CERT_FILE", tier.CAFile))
	}
	pod := kube.Pod{
		Component: "grafana", UID: grafanaUID, GID: grafanaUID,
		Metrics:    &kube.Metrics{Port: GrafanaPort, Path: "/metrics"},
		Containers: []kube.Container{g},
		Volumes: corev1.VolumeArray{
			kube.ConfigMapVolume("datasources", datasources), kube.ConfigMapVolume("dashboards", dashboards),
			kube.EmptyDir("data", false), kube.EmptyDir("tmp", false),
		},
	}
	tier.MountCA(&pod, args.TLS)
	return pod
}
