package monitoring

import "github.com/pynomaly/pynomaly-platform/internal/sizing"

// kubeStateMetricsSize is kube-state-metrics' requests and limits, watching one namespace.
var kubeStateMetricsSize = sizing.Resources{CPURequest: "25m", MemoryRequest: "64Mi", CPULimit: "200m", MemoryLimit: "128Mi",
	EphemeralStorageRequest: "32Mi", EphemeralStorageLimit: "128Mi"}

// metricsAdapterSize is prometheus-adapter's requests and limits, serving one external metric.
var metricsAdapterSize = sizing.Resources{CPURequest: "25m", MemoryRequest: "64Mi", CPULimit: "250m", MemoryLimit: "256Mi",
	EphemeralStorageRequest: "64Mi", EphemeralStorageLimit: "256Mi"}
