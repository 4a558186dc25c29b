package kube

import "github.com/pynomaly/pynomaly-platform/internal/sizing"

// Workload describes one pod-running object a tier declared: what the cross-cutting tiers need
// to know about it without reaching into the tier. The builders fill it from the very values
// they put into the object, so it cannot drift from what runs.
type Workload struct {
	// Kind is Deployment, StatefulSet, Job or CronJob; Name is the object's name.
	Kind, Name string
	// Component is the value of the pods' component label.
	Component string
	// Selector are the labels that select exactly these pods.
	Selector map[string]string
	// Ports are the containers' named ports (init containers listen on nothing).
	Ports map[string]int
	// Metrics is where Prometheus scrapes the pods; nil when there is nothing to scrape.
	Metrics *Metrics
	// ServiceAccount is the pods' own account (every workload has one, named like it).
	ServiceAccount string
	// APIClient is the container that calls the Kubernetes API with the account's token;
	// empty when none does.
	APIClient string
	// Footprint is what the workload asks of the namespace's quota at its largest.
	Footprint Footprint
}

// Footprint is what a workload asks of the namespace's quota at its largest (see package sizing).
type Footprint = sizing.Footprint

// workload is the description of a pod template run by pods replicas, each with claims of
// claimSize (claims per pod).
func (p Pod) workload(kind, name string, pods int, claimSize string, claimsPerPod int) Workload {
	w := Workload{
		Kind: kind, Name: name, Component: p.Component, Selector: p.Selector(),
		Ports: map[string]int{}, ServiceAccount: p.account, APIClient: p.APIClient,
		Footprint: Footprint{Name: p.Component, Pods: pods, ClaimSize: claimSize, Claims: pods * claimsPerPod},
	}
	if p.Metrics != nil {
		m := *p.Metrics
		w.Metrics = &m
	}
	for _, c := range p.Containers {
		for _, port := range c.Ports {
			w.Ports[port.Name] = port.Port
		}
		w.Footprint.Containers = append(w.Footprint.Containers, c.Resources)
	}
	return w
}
