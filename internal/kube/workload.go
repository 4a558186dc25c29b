package kube

import (
	"slices"

	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

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
	// Images are the images its containers and init containers run, each once.
	Images []string
}

// Footprint is what a workload asks of the namespace's quota at its largest (see package sizing).
type Footprint = sizing.Footprint

// Workload describes s as NewStatefulSet declares it, before anything is declared.
func (s StatefulSet) Workload() Workload {
	claimsPerPod := 0
	if s.Claim.Size != "" {
		claimsPerPod = 1
	}
	return s.Pod.workload("StatefulSet", s.Name, s.Replicas, s.Claim.Size, claimsPerPod)
}

// Workload describes d as NewDeployment declares it, before anything is declared.
func (d Deployment) Workload() Workload {
	return d.Pod.workload("Deployment", d.Name, d.Replicas, "", 0)
}

// Workload describes a as NewAutoscaled declares it: a Deployment at its maximum replicas.
func (a Autoscaled) Workload() Workload {
	return a.Pod.workload("Deployment", a.Name, a.Scaling.MaxReplicas, "", 0)
}

// Workload describes j as NewJob declares it, before anything is declared.
func (j Job) Workload() Workload { return j.Pod.workload("Job", j.Name, 1, "", 0) }

// Workload describes c as NewCronJob declares it: one job's pod at a time.
func (c CronJob) Workload() Workload { return c.Pod.workload("CronJob", c.Name, 1, "", 0) }

// workload is the description of a pod template run by pods replicas, each with claims of
// claimSize (claims per pod). The pods' ServiceAccount is the workload's own, named like it
// (withAccount).
func (p Pod) workload(kind, name string, pods int, claimSize string, claimsPerPod int) Workload {
	w := Workload{
		Kind: kind, Name: name, Component: p.Component, Selector: p.Selector(),
		Ports: map[string]int{}, ServiceAccount: name, APIClient: p.APIClient,
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
	for _, c := range append(slices.Clone(p.InitContainers), p.Containers...) {
		if !slices.Contains(w.Images, c.Image) {
			w.Images = append(w.Images, c.Image)
		}
	}
	return w
}

// Object is a pod-running object as a plain value, before it is declared: StatefulSet,
// Deployment, Autoscaled, Job and CronJob. A tier's plan lists its Objects; the builders
// (NewStatefulSet and the others) declare them.
type Object interface {
	Workload() Workload
}
