package tier

import "github.com/pynomaly/pynomaly-platform/internal/sizing"

// SidecarResources are those of the small helper containers next to a database: metrics
// exporters and Redis Sentinels. They write nothing but their logs (the kubelet rotates a
// container's log at 5 x 10Mi).
var SidecarResources = sizing.Resources{CPURequest: "25m", MemoryRequest: "32Mi", CPULimit: "100m", MemoryLimit: "64Mi",
	EphemeralStorageRequest: "32Mi", EphemeralStorageLimit: "128Mi"}

// JobResources are those of one-off and scheduled jobs (database setup, backups); a backup's
// dump goes to its claim, /tmp holds small scripts.
var JobResources = sizing.Resources{CPURequest: "100m", MemoryRequest: "128Mi", CPULimit: "500m", MemoryLimit: "256Mi",
	EphemeralStorageRequest: "64Mi", EphemeralStorageLimit: "512Mi"}
