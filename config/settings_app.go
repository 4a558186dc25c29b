package config

import "github.com/pynomaly/pynomaly-platform/internal/sizing"

// Autoscaled is a Deployment whose replica count a HorizontalPodAutoscaler owns.
type Autoscaled struct {
	// MinReplicas is the HPA's floor (the HPA owns the replica count).
	MinReplicas int `json:"minReplicas"`
	// MaxReplicas is the HPA's ceiling; the quota must hold every pod at it.
	MaxReplicas int `json:"maxReplicas"`
	// Resources are each pod's main container's requests and limits.
	Resources sizing.Resources `json:"resources"`
	// DBPoolSize is the database connections each pod holds (to the pooler).
	DBPoolSize int `json:"dbPoolSize"`
	// TargetCPUUtilization and TargetMemoryUtilization are the HPA's targets, in percent of
	// the requests.
	TargetCPUUtilization    int `json:"targetCpuUtilization"`
	TargetMemoryUtilization int `json:"targetMemoryUtilization"`
}

// Worker is the background-processing Deployment.
type Worker struct {
	Autoscaled
	// TaskTimeoutSeconds is the longest task; a worker being stopped gets that long to finish
	// (or cancel and requeue) what it holds before it is killed.
	TaskTimeoutSeconds int `json:"taskTimeoutSeconds"`
	// Concurrency is how many tasks one worker pod runs in parallel.
	Concurrency  int          `json:"concurrency"`
	QueueScaling QueueScaling `json:"queueScaling"`
}

// QueueScaling adds the task queue's depth to the worker HPA. It needs an external metrics
// adapter in the cluster (prometheus-adapter or KEDA's) that serves MetricName.
type QueueScaling struct {
	// Enabled adds the queue depth to the HPA; by default on where the program runs the adapter
	// (bundled monitoring, full or comprehensive).
	Enabled bool `json:"enabled"`
	// MetricName is the external metric of the queue's depth.
	MetricName string `json:"metricName"`
	// TargetPerPod is the queue depth one worker pod is expected to absorb.
	TargetPerPod int `json:"targetPerPod"`
}

// The seed's HPA targets: API CPU 70% / memory 80%, workers CPU 75% / memory 85%.
func api(minR, maxR int, r sizing.Resources, pool int) Autoscaled {
	return Autoscaled{MinReplicas: minR, MaxReplicas: maxR, Resources: r, DBPoolSize: pool,
		TargetCPUUtilization: 70, TargetMemoryUtilization: 80}
}

func worker(minR, maxR int, r sizing.Resources, pool, timeout int) Worker {
	return Worker{
		Autoscaled: Autoscaled{MinReplicas: minR, MaxReplicas: maxR, Resources: r, DBPoolSize: pool,
			TargetCPUUtilization: 75, TargetMemoryUtilization: 85},
		TaskTimeoutSeconds: timeout, Concurrency: 4,
		QueueScaling: QueueScaling{MetricName: "pynomaly_task_queue_depth", TargetPerPod: 20},
	}
}

// apiDefaults are the API's per environment.
func apiDefaults(env Environment) Autoscaled {
	return byEnv(env,
		api(1, 2, resDisk("50m", "128Mi", "250m", "256Mi", apiDisk), 5),
		api(2, 5, resDisk("100m", "256Mi", "500m", "512Mi", apiDisk), 10),
		api(5, 100, resDisk("100m", "256Mi", "1", "1Gi", apiDisk), 10))
}

// workerDefaults are the workers' per environment.
func workerDefaults(env Environment) Worker {
	return byEnv(env,
		worker(1, 2, resDisk("50m", "128Mi", "500m", "512Mi", workerDisk), 5, 300),
		worker(2, 5, resDisk("200m", "512Mi", "1", "1Gi", workerDisk), 5, 900),
		worker(3, 50, resDisk("200m", "768Mi", "1", "2Gi", workerDisk), 5, 3600))
}

// The API keeps uploads and a worker its intermediate files in /tmp until they are done: more
// ephemeral storage than a container's usual logs and small /tmp.
var (
	apiDisk    = disk{"256Mi", "2Gi"}
	workerDisk = disk{"256Mi", "4Gi"}
)
