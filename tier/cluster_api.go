package tier

// ClusterAPI is an API that another project installs in the cluster (cert-manager, the Gateway
// API and its implementations, the Prometheus Operator) and that a tier declares objects of.
// The cluster preflight (platform/preflight.go) checks each one before anything is declared.
type ClusterAPI struct {
	GroupVersion, Resource string
	// Project is what to install when the cluster lacks it.
	Project string
}
