package config

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// Footprint lists every workload in the namespace, each as what it occupies at its largest: a
// Deployment at its maximum replicas, a StatefulSet with its claims, a job, or a claim of its
// own. A tier that adds pods or containers adds them here, so the quota check in Validate always
// covers the whole platform.
type Footprint []sizing.Footprint

// RedisPodContainers are the containers of one Redis pod: the server, its exporter, and a
// Sentinel when there are replicas to fail over to.
func RedisPodContainers(t StatefulTier) []sizing.Resources {
	c := []sizing.Resources{t.Resources, SidecarResources}
	if t.Replicas > 1 {
		c = append(c, SidecarResources)
	}
	return c
}

// Footprint returns the namespace's workloads at their maximum size.
func (s *Settings) Footprint() Footprint {
	stateful := func(name string, t StatefulTier, containers []sizing.Resources) sizing.Footprint {
		w := sizing.Footprint{Name: name, Pods: t.Replicas, Containers: containers, ClaimSize: t.StorageSize}
		if t.StorageSize != "" {
			w.Claims = t.Replicas
		}
		return w
	}
	job := func(name string) sizing.Footprint {
		return sizing.Footprint{Name: name, Pods: 1, Containers: []sizing.Resources{JobResources}}
	}
	f := Footprint{
		{Name: "api", Pods: s.API.MaxReplicas, Containers: []sizing.Resources{s.API.Resources}},
		{Name: "worker", Pods: s.Worker.MaxReplicas, Containers: []sizing.Resources{s.Worker.Resources}},
		// Nginx and its metrics exporter.
		{Name: "nginx", Pods: s.Edge.Replicas, Containers: []sizing.Resources{s.Edge.Resources, SidecarResources}},
		stateful("postgres", s.Postgres.StatefulTier, []sizing.Resources{s.Postgres.Resources, SidecarResources}),
		{Name: "pooler", Pods: s.Pooler.Replicas, Containers: []sizing.Resources{s.Pooler.Resources}},
		job("postgres-setup"),
		job("postgres-backup"),
		job("db-migrate"),
		stateful("redis-queue", s.RedisQueue, RedisPodContainers(s.RedisQueue)),
		stateful("redis-cache", s.RedisCache, RedisPodContainers(s.RedisCache)),
		stateful("influxdb", s.InfluxDB.StatefulTier, []sizing.Resources{s.InfluxDB.Resources}),
		job("influxdb-setup"),
		job("influxdb-backup"),
		{Name: "backups claim", ClaimSize: s.Storage.BackupSize, Claims: 1},
		{Name: "models claim", ClaimSize: s.Storage.ModelSize, Claims: 1},
	}
	if s.Storage.Snapshots.On() {
		f = append(f, job("volume-snapshots"))
	}
	if !s.Bundled() {
		// The cluster's operator runs the monitoring stack: nothing of it is in the namespace.
		return f
	}
	f = append(f,
		stateful("prometheus", s.Prometheus.StatefulTier, []sizing.Resources{s.Prometheus.Resources}),
		sizing.Footprint{Name: "grafana", Pods: 1, Containers: []sizing.Resources{s.Grafana.Resources}})
	if s.Monitoring.Alerting() {
		f = append(f,
			stateful("alertmanager", s.Alertmanager.StatefulTier, []sizing.Resources{s.Alertmanager.Resources}),
			sizing.Footprint{Name: "kube-state-metrics", Pods: 1, Containers: []sizing.Resources{KubeStateMetricsResources}})
	}
	if s.MetricsAdapter() {
		f = append(f, sizing.Footprint{Name: "metrics-adapter", Pods: s.MetricsAdapterReplicas(), Containers: []sizing.Resources{MetricsAdapterResources}})
	}
	return f
}

// Totals is what a Footprint asks of the ResourceQuota.
type Totals struct {
	RequestsCPU, RequestsMemory, LimitsCPU, LimitsMemory, Storage resource.Quantity
	RequestsEphemeralStorage, LimitsEphemeralStorage              resource.Quantity
	Pods, Claims                                                  int
}

// Total adds the footprint up. Quantities must already be valid (Validate checks them first);
// an unparsable one panics, which would be a bug in Validate.
func (f Footprint) Total() Totals {
	var t Totals
	add := func(sum *resource.Quantity, value string, times int) {
		if value == "" || times == 0 {
			return
		}
		q := resource.MustParse(value)
		for range times {
			sum.Add(q)
		}
	}
	for _, w := range f {
		for _, c := range w.Containers {
			add(&t.RequestsCPU, c.CPURequest, w.Pods)
			add(&t.RequestsMemory, c.MemoryRequest, w.Pods)
			add(&t.LimitsCPU, c.CPULimit, w.Pods)
			add(&t.LimitsMemory, c.MemoryLimit, w.Pods)
			add(&t.RequestsEphemeralStorage, c.EphemeralStorageRequest, w.Pods)
			add(&t.LimitsEphemeralStorage, c.EphemeralStorageLimit, w.Pods)
		}
		add(&t.Storage, w.ClaimSize, w.Claims)
		t.Pods += w.Pods
		t.Claims += w.Claims
	}
	return t
}

// Summary names the workloads and their sizes, for error messages.
func (f Footprint) Summary() string {
	parts := make([]string, 0, len(f))
	for _, w := range f {
		switch {
		case w.Pods > 0:
			parts = append(parts, fmt.Sprintf("%s x%d", w.Name, w.Pods))
		case w.Claims > 0:
			parts = append(parts, fmt.Sprintf("%s %s", w.Name, w.ClaimSize))
		}
	}
	return strings.Join(parts, ", ")
}
