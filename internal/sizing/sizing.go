// Package sizing holds what a container asks of a node and what a workload asks of the
// namespace's quota: plain values that the stack's settings decode into and the Kubernetes
// builders read. It imports only the quantities of apimachinery, so the settings need no
// Kubernetes SDK to describe sizes.
package sizing

// Resources are one container's requests and limits, as Kubernetes quantities. The JSON names
// are those of the stack settings, which decode straight into this type: one type from a stack
// file to a pod spec and the quota's sum.
type Resources struct {
	CPURequest    string `json:"cpuRequest"`
	MemoryRequest string `json:"memoryRequest"`
	CPULimit      string `json:"cpuLimit"`
	MemoryLimit   string `json:"memoryLimit"`
	// EphemeralStorageRequest and EphemeralStorageLimit bound the node disk the container
	// uses: its logs, its disk-backed emptyDirs and a writable root (claims do not count). The
	// scheduler places pods by the request; past the limit the kubelet evicts the pod, so a
	// runaway temporary file cannot fill a node's disk under its neighbours.
	EphemeralStorageRequest string `json:"ephemeralStorageRequest"`
	EphemeralStorageLimit   string `json:"ephemeralStorageLimit"`
}

// Footprint is what one workload occupies of the namespace's quota at its largest: its pods,
// each pod's containers, and its claims. The quota's arithmetic (config's Footprint) adds these
// up; a claim no workload owns is a Footprint without pods.
type Footprint struct {
	// Name says whose footprint it is in the quota's messages.
	Name string
	// Pods is how many pods run at most; each runs Containers.
	Pods       int
	Containers []Resources
	// ClaimSize is the size of each claim ("" for none); Claims counts claims in all.
	ClaimSize string
	Claims    int
}
