package components

// Names that other objects, people and runbooks address. They are fixed (not auto-named) and
// kept in one place so that producer and consumer can never disagree.
const (
	PostgresServiceName = "pynomaly-postgres-service"
	PostgresDatabase    = "pynomaly"
	PostgresAppUser     = "pynomaly"
	PostgresPort        = 5432
	RedisQueueService   = "pynomaly-redis-queue"
	RedisCacheService   = "pynomaly-redis-cache"
	RedisPort           = 6379
	InfluxDBServiceName = "pynomaly-influxdb"
	InfluxDBPort        = 8086
	InfluxDBOrg         = "pynomaly"
	InfluxDBBucket      = "metrics"
	APIServiceName      = "pynomaly-api-service"
	APIPort             = 8000
	TaskQueueName       = "pynomaly-tasks"
	BackupClaimName     = "pynomaly-backups"
	ModelClaimName      = "pynomaly-models"
	ResourceQuotaName   = "pynomaly-quota"
	LimitRangeName      = "pynomaly-limits"
	PostgresSecretName  = "pynomaly-postgres-credentials"
	RedisSecretName     = "pynomaly-redis-credentials"
	InfluxDBSecretName  = "pynomaly-influxdb-credentials"
	GrafanaSecretName   = "pynomaly-grafana-credentials"
	APISecretName       = "pynomaly-api-credentials"
)
