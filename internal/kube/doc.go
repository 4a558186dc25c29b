// Package kube holds the builders every tier declares its Kubernetes objects through: metadata
// and labels, containers, pod templates, Services, disruption budgets, StatefulSets, Deployments
// (fixed or autoscaled) and Jobs. Each builder applies the platform's rules once (security
// contexts, token automount, placement, scrape annotations, resources), and each pod-running
// builder returns the Workload it declared, so the cross-cutting tiers (quota, monitoring,
// network policy, RBAC) are generated from one list instead of hand-kept mirrors.
//
// The builders know nothing of the app's settings (kube does not import config): callers pass
// plain values (Resources, Scaling), so the builders stay reusable. Sizes are package sizing's
// types, which the settings decode into and the quota adds up, so config needs no kube.
package kube
