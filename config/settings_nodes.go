package config

import "maps"

// NodeSelectors: an entry per component, named by its pods' component label, holds the node
// labels those pods require (their nodeSelector); the entry default holds those of every
// component without an entry of its own (an own entry replaces it: the two are not merged). For
// node pools: the whole platform on one, or the databases on one and the application on another.
// Set a label with pulumi config set --path nodeSelectors.default.pool platform, one whose key
// has dots or a slash with 'nodeSelectors.api["kubernetes.io/arch"]' amd64. Empty in every
// environment: pods run on any node.
type NodeSelectors map[string]map[string]string

// DefaultNodeSelector is the nodeSelectors entry of every component without its own.
const DefaultNodeSelector = "default"

// PodComponents are the component label values of every pod the program declares: the
// Deployments', StatefulSets', Jobs' and CronJobs' (and of the restore Jobs made from the backup
// CronJobs). nodeSelectors takes an entry for these and default, nothing else. This is the one
// list: tests/nodeselectors_test.go fails when a declared pod's component is missing from it, or
// when a name in it labels no pod.
var PodComponents = []string{
	"api", "worker", "migrate",
	"postgres", "pooler", "postgres-setup", "postgres-backup", "postgres-retire",
	"redis-queue", "redis-cache", "redis-retire",
	"influxdb", "influxdb-setup", "influxdb-backup",
	"nginx",
	"prometheus", "grafana", "alertmanager", "kube-state-metrics", "metrics-adapter",
	"volume-snapshots",
}

// nodeSelectorDefaults are the same in every environment: no selector, so pods go wherever the
// scheduler puts them. An empty map, not nil, so the settings view shows {}.
func nodeSelectorDefaults() NodeSelectors { return NodeSelectors{} }

// For is the node selector of a component's pods: its own entry, else the default entry, else
// none (nil). The map is the caller's to keep.
func (n NodeSelectors) For(component string) map[string]string {
	if own, ok := n[component]; ok {
		return maps.Clone(own)
	}
	return maps.Clone(n[DefaultNodeSelector])
}
