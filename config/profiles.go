package config

import (
	"slices"

	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// The three profiles carry the seed's environment table as defaults:
//
//	dev      replicas 1-2,   minimal resources,   basic monitoring,         relaxed security
//	staging  replicas 2-5,   moderate resources,  full monitoring,          enforced security
//	prod     API 5-100, workers 3-50, optimized,  comprehensive monitoring, strict security
//
// The seed's "strict" is Pod Security "restricted" enforced, the strictest level Kubernetes
// has: the level enforced, which staging and prod share and may not lower.
//
// Database and pooler replicas are kept apart as a preference in dev and staging, so small
// clusters schedule everything, and as a requirement in prod (placement).
//
// prod's quota is the seed's minimum cluster (32 cores, 128 GB, 2 TB): requests must fit in
// it with every Deployment at its maximum replicas; limits may overcommit.

// DefaultNamespace is the seed's namespace.
const DefaultNamespace = "pynomaly-data-science"

// Profile returns the defaults of env, or false when env is not a known environment. Each object
// key's defaults live beside its settings type (settings_<tier>.go), and its entry in the key
// table (object) sets them here.
func Profile(env Environment) (Settings, bool) {
	if !slices.Contains(Environments, env) {
		return Settings{}, false
	}
	s := Settings{
		Environment: env,
		Namespace:   DefaultNamespace,
		// The program's storage defaults were always AWS's.
		Kubernetes: Kubernetes{Cloud: CloudAWS},
		Security:   byEnv(env, Relaxed, Enforced, Enforced),
		Placement:  byEnv(env, PlacementPreferred, PlacementPreferred, PlacementRequired),
		Monitoring: byEnv(env, Basic, Full, Comprehensive),
		// The program runs its own monitoring unless a stack says the cluster has an operator.
		MonitoringMode: MonitoringBundled,
		LogLevel:       byEnv(env, "debug", "info", "info"),
	}
	for _, k := range keyTable {
		if k.defaults != nil {
			k.defaults(&s, env)
		}
	}
	return s, true
}

// byEnv is dev's, staging's or prod's value, by env.
func byEnv[T any](env Environment, dev, staging, prod T) T {
	switch env {
	case Staging:
		return staging
	case Prod:
		return prod
	}
	return dev
}

// res is a container's resources. Its ephemeral storage is what most containers need, their
// logs and a small /tmp (64Mi requested, 512Mi at most); resDisk gives more to the tiers that
// write more.
func res(cpuRequest, memoryRequest, cpuLimit, memoryLimit string) sizing.Resources {
	return resDisk(cpuRequest, memoryRequest, cpuLimit, memoryLimit, disk{"64Mi", "512Mi"})
}

// disk is a container's ephemeral storage: request and limit. The tiers whose containers write
// more than logs to the node's disk say why beside their defaults (Nginx buffers request bodies
// and slow responses in /tmp; a Redis cache replica writes the primary's snapshot to its emptyDir
// during a full resynchronisation).
type disk struct{ request, limit string }

// resDisk is a container's resources with ephemeral storage d.
func resDisk(cpuRequest, memoryRequest, cpuLimit, memoryLimit string, d disk) sizing.Resources {
	return sizing.Resources{CPURequest: cpuRequest, MemoryRequest: memoryRequest, CPULimit: cpuLimit, MemoryLimit: memoryLimit,
		EphemeralStorageRequest: d.request, EphemeralStorageLimit: d.limit}
}
