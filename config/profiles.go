package config

// The three profiles carry the seed's environment table as defaults:
//
//	dev      replicas 1-2,   minimal resources,   basic monitoring,         relaxed security
//	staging  replicas 2-5,   moderate resources,  full monitoring,          enforced security
//	prod     API 5-100, workers 3-50, optimized,  comprehensive monitoring, strict security
//
// prod's quota is the seed's minimum cluster (32 cores, 128 GB, 2 TB): requests must fit in
// it with every Deployment at its maximum replicas; limits may overcommit.

// DefaultNamespace is the seed's namespace.
const DefaultNamespace = "pynomaly-data-science"

// profile returns the defaults of env, or false when env is not a known environment.
func profile(env Environment) (Settings, bool) {
	base := Settings{
		Environment: env,
		Namespace:   DefaultNamespace,
		LogLevel:    "info",
		Storage: Storage{
			ClassName:       "pynomaly-ssd",
			Provisioner:     "ebs.csi.aws.com",
			Parameters:      map[string]string{"type": "gp3", "encrypted": "true"},
			ReclaimPolicy:   "Delete",
			ModelAccessMode: "ReadWriteOnce",
		},
		Secrets: Secrets{Rotation: "initial"},
	}
	switch env {
	case Dev:
		base.Security, base.Monitoring, base.LogLevel = Relaxed, Basic, "debug"
		base.Quota = Quota{
			RequestsCPU: "4", RequestsMemory: "8Gi", LimitsCPU: "8", LimitsMemory: "16Gi",
			RequestsStorage: "100Gi", Pods: 30, PersistentVolumeClaims: 10,
		}
		base.LimitRange = LimitRange{
			DefaultRequestCPU: "50m", DefaultRequestMemory: "64Mi",
			DefaultCPU: "250m", DefaultMemory: "256Mi",
			MaxCPU: "2", MaxMemory: "4Gi",
		}
		base.Storage.BackupSize, base.Storage.ModelSize = "10Gi", "5Gi"
		base.API = Autoscaled{MinReplicas: 1, MaxReplicas: 2, Resources: res("50m", "128Mi", "250m", "256Mi")}
		base.Worker = Autoscaled{MinReplicas: 1, MaxReplicas: 2, Resources: res("50m", "128Mi", "500m", "512Mi")}
		base.Postgres = StatefulTier{Replicas: 1, Resources: res("100m", "256Mi", "500m", "1Gi"), StorageSize: "10Gi"}
		base.RedisQueue = StatefulTier{Replicas: 1, Resources: res("50m", "64Mi", "250m", "256Mi"), StorageSize: "1Gi"}
		base.RedisCache = StatefulTier{Replicas: 1, Resources: res("50m", "64Mi", "250m", "320Mi")}
		base.InfluxDB = StatefulTier{Replicas: 1, Resources: res("100m", "256Mi", "500m", "512Mi"), StorageSize: "5Gi"}
	case Staging:
		base.Security, base.Monitoring = Enforced, Full
		base.Quota = Quota{
			RequestsCPU: "8", RequestsMemory: "24Gi", LimitsCPU: "24", LimitsMemory: "48Gi",
			RequestsStorage: "500Gi", Pods: 60, PersistentVolumeClaims: 20,
		}
		base.LimitRange = LimitRange{
			DefaultRequestCPU: "100m", DefaultRequestMemory: "128Mi",
			DefaultCPU: "500m", DefaultMemory: "512Mi",
			MaxCPU: "4", MaxMemory: "8Gi",
		}
		base.Storage.BackupSize, base.Storage.ModelSize = "50Gi", "20Gi"
		base.API = Autoscaled{MinReplicas: 2, MaxReplicas: 5, Resources: res("100m", "256Mi", "500m", "512Mi")}
		base.Worker = Autoscaled{MinReplicas: 2, MaxReplicas: 5, Resources: res("200m", "512Mi", "1", "1Gi")}
		base.Postgres = StatefulTier{Replicas: 2, Resources: res("250m", "1Gi", "1", "2Gi"), StorageSize: "50Gi"}
		base.RedisQueue = StatefulTier{Replicas: 2, Resources: res("100m", "256Mi", "500m", "512Mi"), StorageSize: "5Gi"}
		base.RedisCache = StatefulTier{Replicas: 2, Resources: res("100m", "1Gi", "500m", "1280Mi")}
		base.InfluxDB = StatefulTier{Replicas: 1, Resources: res("250m", "512Mi", "1", "1Gi"), StorageSize: "50Gi"}
	case Prod:
		base.Security, base.Monitoring = Strict, Comprehensive
		base.Quota = Quota{
			RequestsCPU: "32", RequestsMemory: "128Gi", LimitsCPU: "192", LimitsMemory: "320Gi",
			RequestsStorage: "2Ti", Pods: 250, PersistentVolumeClaims: 30,
		}
		base.LimitRange = LimitRange{
			DefaultRequestCPU: "100m", DefaultRequestMemory: "128Mi",
			DefaultCPU: "500m", DefaultMemory: "512Mi",
			MaxCPU: "4", MaxMemory: "16Gi",
		}
		base.Storage.ReclaimPolicy = "Retain"
		base.Storage.BackupSize, base.Storage.ModelSize = "300Gi", "200Gi"
		base.API = Autoscaled{MinReplicas: 5, MaxReplicas: 100, Resources: res("100m", "256Mi", "1", "1Gi")}
		base.Worker = Autoscaled{MinReplicas: 3, MaxReplicas: 50, Resources: res("200m", "768Mi", "1", "2Gi")}
		// shared_buffers 2GB is 25% of an 8Gi limit, as the seed tunes it.
		base.Postgres = StatefulTier{Replicas: 3, Resources: res("1", "4Gi", "2", "8Gi"), StorageSize: "200Gi"}
		base.RedisQueue = StatefulTier{Replicas: 3, Resources: res("250m", "1Gi", "1", "2Gi"), StorageSize: "20Gi"}
		// maxmemory 8GB (the seed's) leaves headroom for replication buffers under a 10Gi limit.
		base.RedisCache = StatefulTier{Replicas: 3, Resources: res("500m", "9Gi", "2", "10Gi")}
		base.InfluxDB = StatefulTier{Replicas: 1, Resources: res("500m", "2Gi", "2", "4Gi"), StorageSize: "500Gi"}
	default:
		return Settings{}, false
	}
	return base, true
}

func res(cpuRequest, memoryRequest, cpuLimit, memoryLimit string) Resources {
	return Resources{CPURequest: cpuRequest, MemoryRequest: memoryRequest, CPULimit: cpuLimit, MemoryLimit: memoryLimit}
}
