package app

import (
	"fmt"
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/influxdb"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/redis"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// ConfigArgs configures the config tier. The endpoints come from the data tier's
// components, so the ConfigMap says exactly what they created.
type ConfigArgs struct {
	tier.Context
	Environment string
	LogLevel    string
	// DatabaseHost is the pooler the application connects to.
	DatabaseHost pulumi.StringInput
	Queue, Cache redis.Endpoint
	InfluxDBURL  pulumi.StringInput
}

// AppConfig is the seed's data-science-configmaps.yaml: the non-secret settings API and workers
// read from their environment. Credentials are never here; they come from the secrets tier.
type AppConfig struct {
	pulumi.ResourceState
	tier.OutputSet

	// ConfigMapName is auto-generated (name plus a suffix): any change creates a new ConfigMap,
	// the pod templates that reference it change, and the Deployments roll.
	ConfigMapName pulumi.StringOutput `pulumi:"configMapName"`
}

// NewConfig creates the config tier.
func NewConfig(ctx *pulumi.Context, name string, args *ConfigArgs, opts ...pulumi.ResourceOption) (*AppConfig, error) {
	c := &AppConfig{}
	if err := ctx.RegisterComponentResource(tier.Type("AppConfig"), name, c, opts...); err != nil {
		return nil, err
	}
	port := func(p int) pulumi.String { return pulumi.String(strconv.Itoa(p)) }
	data := pulumi.StringMap{
		"PYNOMALY_ENVIRONMENT": pulumi.String(args.Environment),
		"LOG_LEVEL":            pulumi.String(args.LogLevel),
		"DATABASE_HOST":        args.DatabaseHost,
		"DATABASE_PORT":        port(postgres.Port),
		"DATABASE_NAME":        pulumi.String(postgres.Database),
		"REDIS_QUEUE_HOST":     args.Queue.Host,
		"REDIS_QUEUE_PORT":     port(args.Queue.Port),
		// Empty: connect directly. Set: HOST:PORT are Sentinels, ask them for this primary.
		"REDIS_QUEUE_SENTINEL_MASTER": pulumi.String(args.Queue.SentinelMaster),
		"REDIS_CACHE_HOST":            args.Cache.Host,
		"REDIS_CACHE_PORT":            port(args.Cache.Port),
		"REDIS_CACHE_SENTINEL_MASTER": pulumi.String(args.Cache.SentinelMaster),
		"TASK_QUEUE_NAME":             pulumi.String(redis.TaskQueueName),
		// The application's Redis user (at Redis and at the Sentinels), and the prefix of every
		// cache key: the user may touch no other (redis/acl.go).
		"REDIS_USERNAME":         pulumi.String(redis.AppUser),
		"REDIS_CACHE_KEY_PREFIX": pulumi.String(redis.CacheKeyPrefix),
		"INFLUXDB_URL":           args.InfluxDBURL,
		"INFLUXDB_ORG":           pulumi.String(influxdb.Org),
		"INFLUXDB_BUCKET":        pulumi.String(influxdb.Bucket),
		"API_PORT":               port(APIPort),
		"MODEL_STORAGE_PATH":     pulumi.String(ModelStoragePath),
	}
	for k, v := range TLSConfig(args.TLS) {
		data[k] = pulumi.String(v)
	}
	cm, err := corev1.NewConfigMap(ctx, "pynomaly-app-config", &corev1.ConfigMapArgs{
		// No Name: Pulumi names it pynomaly-app-config-<suffix>, which is what makes pods roll.
		Metadata: kube.AutoNamedMeta(ctx, args.Namespace, "config"),
		Data:     data,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("config: configmap: %w", err)
	}
	c.ConfigMapName = cm.Metadata.Name().Elem()
	c.Keep(pulumi.Map{"configMapName": c.ConfigMapName})
	return c, nil
}

// TLSConfig is how the application connects with TLS on: PostgreSQL with verify-full, Redis
// and Sentinel over TLS (rediss), InfluxDB over https, each server's certificate checked against
// the CA mounted at CAFile. Off, the application connects in plain text.
func TLSConfig(on bool) map[string]string {
	mode, tls := "prefer", "false"
	if on {
		mode, tls = "verify-full", "true"
	}
	cfg := map[string]string{"DATABASE_SSLMODE": mode, "REDIS_TLS": tls, "REDIS_SCHEME": "redis"}
	if on {
		cfg["REDIS_SCHEME"] = "rediss"
		for _, k := range []string{"DATABASE_SSLROOTCERT", "REDIS_CA_CERT", "INFLUXDB_CA_CERT"} {
			cfg[k] = tier.CAFile
		}
	}
	return cfg
}
