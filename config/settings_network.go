package config

import (
	"slices"
)

// Network is the cluster around the namespace, as its NetworkPolicies address it: every pod is
// denied everything but the flows of one table (netpol/flows.go), and the peers
// outside the namespace are named here.
type Network struct {
	// EntryNamespace is where the entry point's pods run (the Ingress controller's, or the
	// Gateway's data plane): the only namespace whose pods reach Nginx. Empty: the usual one of
	// edge.entry's implementation (EntryNamespaces).
	EntryNamespace string `json:"entryNamespace"`
	// KubernetesAPI is where the API server's endpoints are: Patroni keeps its state there, and
	// Prometheus and kube-state-metrics read it. A NetworkPolicy sees the endpoint's address and
	// port (kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes), not
	// the Service's.
	KubernetesAPI APIServer `json:"kubernetesApi"`
	// NodeCIDRs hold the nodes' addresses: Prometheus scrapes every kubelet (port 10250).
	NodeCIDRs []string `json:"nodeCidrs"`
	// ObjectStorageCIDRs are where WAL-G archives to (postgres.walArchive); needed when it is on.
	ObjectStorageCIDRs []string `json:"objectStorageCidrs"`
	// GrafanaPluginCIDRs are where Grafana downloads its logs datasource's plugin at start
	// (grafana.com's addresses, or a mirror's), with a bundled log store; empty: no download is
	// allowed, and the plugin must be in the images.grafana image.
	GrafanaPluginCIDRs []string `json:"grafanaPluginCidrs"`
	// PrometheusNamespace is the cluster's Prometheus's namespace, in monitoringMode operator:
	// its pods (app.kubernetes.io/name=prometheus) may scrape every metrics port.
	PrometheusNamespace string `json:"prometheusNamespace"`
	// DebugClients lets a pod of the namespace labelled pynomaly.io/debug-client=true reach
	// PostgreSQL, the pooler and Redis, and nothing else: the troubleshooting path of the seed's
	// `kubectl run ... psql` (docs/operations.md). On in dev and staging, off in prod.
	DebugClients bool `json:"debugClients"`
}

// APIServer is the Kubernetes API server's endpoints.
type APIServer struct {
	// CIDRs hold the API server's endpoint addresses.
	CIDRs []string `json:"cidrs"`
	// Ports are the endpoints' ports (managed clusters: 443; kubeadm, kind and k3s: 6443).
	Ports []int `json:"ports"`
}

// EntryNamespaces are where each entry point's pods run by default: ingress-nginx's controller,
// Envoy Gateway's proxies (its default, not the GatewayNamespace mode), NGINX Gateway Fabric 1.x's
// data plane. Keyed by edge.entry, and for gateway by edge.gateway.implementation.
var EntryNamespaces = map[string]string{
	string(EntryIngress): "ingress-nginx",
	EnvoyGateway:         "envoy-gateway-system",
	NginxGatewayFabric:   "nginx-gateway",
}

// DefaultEntryNamespace is edge.entry's usual namespace, or "" without an entry point.
func (s *Settings) DefaultEntryNamespace() string {
	switch s.Edge.Entry {
	case EntryIngress:
		return EntryNamespaces[string(EntryIngress)]
	case EntryGateway:
		return EntryNamespaces[s.Edge.Gateway.Implementation]
	}
	return ""
}

// KubeletPort is where Prometheus scrapes each node's kubelet and cAdvisor.
const KubeletPort = 10250

// network is where the cluster's API server and nodes usually are: the private ranges, and the
// API server's ports of managed clusters (443) and of kubeadm, kind and k3s (6443). Narrow them
// to the cluster's own addresses where they are known.
func networkDefaults(env Environment) Network {
	return Network{
		KubernetesAPI:       APIServer{CIDRs: slices.Clone(privateRanges), Ports: []int{443, 6443}},
		NodeCIDRs:           slices.Clone(privateRanges),
		PrometheusNamespace: "monitoring",
		DebugClients:        env != Prod,
	}
}
