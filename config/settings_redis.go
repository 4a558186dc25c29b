package config

// redisQueueDefaults are the queue's Redis per environment: three pods from staging on, not two,
// since a lost pod takes its Sentinel along and two Sentinels need both to agree.
func redisQueueDefaults(env Environment) StatefulTier {
	return byEnv(env,
		StatefulTier{Replicas: 1, Resources: res("50m", "64Mi", "250m", "256Mi"), StorageSize: "1Gi"},
		StatefulTier{Replicas: 3, Resources: res("100m", "256Mi", "500m", "512Mi"), StorageSize: "5Gi"},
		StatefulTier{Replicas: 3, Resources: res("250m", "1Gi", "1", "2Gi"), StorageSize: "20Gi"})
}

// redisCacheDefaults are the cache's Redis per environment, without persistence. prod's maxmemory
// 8GB (the seed's) leaves headroom for replication buffers under a 10Gi limit; a replica writes
// the primary's snapshot to its emptyDir during a full resynchronisation, so its ephemeral
// storage grows with maxmemory.
func redisCacheDefaults(env Environment) StatefulTier {
	return byEnv(env,
		StatefulTier{Replicas: 1, Resources: res("50m", "64Mi", "250m", "320Mi")},
		StatefulTier{Replicas: 3, Resources: resDisk("100m", "1Gi", "500m", "1280Mi", disk{"1Gi", "2Gi"})},
		StatefulTier{Replicas: 3, Resources: resDisk("500m", "9Gi", "2", "10Gi", disk{"2Gi", "10Gi"})})
}
