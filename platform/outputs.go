package platform

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/redis"
)

// Outputs are the stack outputs: what operators and other stacks address, and the settings the
// stack runs with. Names, never values.
func (p *Platform) Outputs() map[string]pulumi.Input {
	out := map[string]pulumi.Input{
		"environment":  pulumi.String(p.settings.Environment),
		"namespace":    p.Namespace.Name,
		"storageClass": p.Storage.ClassName,
		"backupClaim":  p.Storage.BackupClaim,
		"modelClaim":   p.Storage.ModelClaim,
		"appConfigMap": p.AppConfig.ConfigMapName,
		"secretNames":  p.Secrets.Names(),
		// What the next deployment's rotation starts from (guardMode reads it back).
		generationsOutput: pulumi.Map{
			"postgresApp": pulumi.Int(p.settings.PostgresAppGeneration()), "redis": pulumi.Int(p.settings.RedisGeneration()),
		},
		"postgres": pulumi.Map{
			"host": p.Postgres.Host, "primaryHost": p.Postgres.PrimaryHost, "replicaHost": p.Postgres.ReplicaHost,
			"port": p.Postgres.Port, "database": p.Postgres.Database, "secretName": p.Postgres.SecretName,
		},
		"redisQueue": redisOutput(p.Redis.Queue),
		"redisCache": redisOutput(p.Redis.Cache),
		"influxdb":   pulumi.Map{"url": p.InfluxDB.URL, "org": pulumi.String(p.InfluxDB.Org), "bucket": pulumi.String(p.InfluxDB.Bucket)},
		"api":        pulumi.Map{"serviceName": p.API.ServiceName, "url": p.API.URL},
		"worker":     pulumi.Map{"deploymentName": p.Worker.DeploymentName},
		"edge":       p.edgeOutput(),
		"monitoring": pulumi.Map{
			"prometheusUrl": p.Monitoring.PrometheusURL, "grafanaUrl": p.Monitoring.GrafanaURL,
			"alertmanagerUrl": p.Monitoring.AlertmanagerURL, "level": pulumi.String(p.settings.Monitoring),
			"mode": pulumi.String(p.settings.MonitoringMode),
		},
		// The effective settings (profile plus the stack's overrides), what `pulumi stack output
		// settings` shows. Credentials appear only as "generated" or "set (secret)".
		"settings": pulumi.ToMap(p.settings.View()),
	}
	if dir := p.settings.Kubernetes.RenderYamlToDirectory; dir != "" {
		out["renderedManifests"] = pulumi.String(dir)
	}
	return out
}

func redisOutput(e redis.Endpoint) pulumi.Map {
	return pulumi.Map{"host": e.Host, "port": pulumi.Int(e.Port), "sentinelMaster": pulumi.String(e.SentinelMaster)}
}

// edgeOutput is where clients reach the API: the Nginx Service, the public hosts and the
// certificate's Secret (empty without an entry point or TLS).
func (p *Platform) edgeOutput() pulumi.Map {
	return pulumi.Map{
		"serviceName":   p.Edge.ServiceName,
		"url":           p.Edge.URL,
		"entry":         pulumi.String(p.settings.Edge.Entry),
		"hosts":         pulumi.ToStringArray(p.Edge.Hosts),
		"tlsSecretName": pulumi.String(p.Edge.TLSSecretName),
	}
}
