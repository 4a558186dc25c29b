package config

// InfluxDB is the metrics store.
type InfluxDB struct {
	StatefulTier
	// Retention of the high-resolution bucket (the seed: 30 days).
	Retention string `json:"retention"`
	// LongTermRetention of the downsampled bucket.
	LongTermRetention string `json:"longTermRetention"`
	// DownsampleEvery is how often the downsampling task runs and the window it averages.
	DownsampleEvery string `json:"downsampleEvery"`
	// Backup is the daily `influx backup` into the backup claim.
	Backup InfluxDBBackup `json:"backup"`
}

// InfluxDBBackup is when InfluxDB is backed up (a cron schedule in UTC) and for how many days
// its backups are kept.
type InfluxDBBackup struct {
	// Schedule is a cron schedule in UTC.
	Schedule string `json:"schedule"`
	// RetentionDays is how many days of backups are kept.
	RetentionDays int `json:"retentionDays"`
}

// InfluxDB's backup runs at 04:30 UTC, after the database's dump (02:00) has most likely released
// the backup claim, and is kept as long as the dumps.
func influx(t StatefulTier, backupRetentionDays int) InfluxDB {
	return InfluxDB{StatefulTier: t, Retention: "30d", LongTermRetention: "365d", DownsampleEvery: "1h",
		Backup: InfluxDBBackup{Schedule: "30 4 * * *", RetentionDays: backupRetentionDays}}
}

// influxDBDefaults are InfluxDB's per environment.
func influxDBDefaults(env Environment) InfluxDB {
	return byEnv(env,
		influx(StatefulTier{Replicas: 1, Resources: res("100m", "256Mi", "500m", "512Mi"), StorageSize: "5Gi"}, 3),
		influx(StatefulTier{Replicas: 1, Resources: res("250m", "512Mi", "1", "1Gi"), StorageSize: "50Gi"}, 7),
		influx(StatefulTier{Replicas: 1, Resources: res("500m", "2Gi", "2", "4Gi"), StorageSize: "500Gi"}, 14))
}
