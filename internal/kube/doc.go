// Package kube holds the builders every tier declares its Kubernetes objects through: metadata
// and labels, containers, pod templates, Services, disruption budgets, StatefulSets, Deployments
// (fixed or autoscaled) and Jobs. Each builder applies the platform's rules once (security
// contexts, token automount, placement, scrape annotations, resources), and each pod-running
// builder returns the Workload it declared, so the cross-cutting tiers (quota, monitoring,
// network policy, RBAC) are generated from one list instead of hand-kept mirrors.
package kube
