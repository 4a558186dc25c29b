package load

import (
	"fmt"
	"github.com/pynomaly/pynomaly-platform/config"
	"net"
)

// validateNetwork checks the peers the NetworkPolicies name outside the namespace. A peer that is
// wrong only shows when the traffic it carries stops (Patroni losing its leader lock, WAL-G
// failing to archive), so what can be known before is checked here.
func validateNetwork(s *config.Settings, v *validator) {
	n := s.Network
	if n.EntryNamespace != "" {
		switch {
		case !config.DNSLabel.MatchString(n.EntryNamespace) || len(n.EntryNamespace) > 63:
			v.fail("network.entryNamespace", quote(n.EntryNamespace), "must be a namespace name (a DNS label), or empty for edge.entry's usual one")
		case n.EntryNamespace == s.Namespace:
			v.fail("network.entryNamespace", quote(n.EntryNamespace),
				"must not be the platform's own namespace: its default deny would hold the entry point's pods too; run them in a namespace of their own")
		}
	}
	v.cidrs("network.kubernetesApi.cidrs", n.KubernetesAPI.CIDRs, false, "the API server's endpoint addresses (kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes)")
	if len(n.KubernetesAPI.Ports) == 0 {
		v.fail("network.kubernetesApi.ports", "[]", "must name the API server's endpoint ports (443 on managed clusters, 6443 on kubeadm, kind and k3s): Patroni keeps its leader lock there")
	}
	for i, p := range n.KubernetesAPI.Ports {
		if p < 1 || p > 65535 {
			v.fail(fmt.Sprintf("network.kubernetesApi.ports[%d]", i), fmt.Sprint(p), "must be a port number, 1 to 65535")
		}
	}
	v.cidrs("network.nodeCidrs", n.NodeCIDRs, false, "the nodes' addresses, where Prometheus scrapes the kubelets")
	if s.Postgres.WALArchive.S3Bucket != "" || len(n.ObjectStorageCIDRs) > 0 {
		// A public store's addresses change: 0.0.0.0/0 (on the store's port only) is allowed here.
		v.cidrs("network.objectStorageCidrs", n.ObjectStorageCIDRs, true,
			"the object store's addresses when postgres.walArchive.s3Bucket is set (0.0.0.0/0 for a public store whose addresses change)")
	}
	if !config.DNSLabel.MatchString(n.PrometheusNamespace) || len(n.PrometheusNamespace) > 63 {
		v.fail("network.prometheusNamespace", quote(n.PrometheusNamespace), "must be a namespace name (a DNS label): where the cluster's Prometheus runs in monitoringMode operator")
	}
}

// cidrs checks a list of CIDRs that must not be empty; anywhere says whether a CIDR that
// matches every address is allowed.
func (v *validator) cidrs(key string, cidrs []string, anywhere bool, what string) {
	if len(cidrs) == 0 {
		v.fail(key, "[]", "must name "+what)
	}
	for i, c := range cidrs {
		k := fmt.Sprintf("%s[%d]", key, i)
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			v.fail(k, quote(c), `must be a CIDR such as "10.0.0.0/16" or "fd00::/64"`)
			continue
		}
		if ones, _ := n.Mask.Size(); ones == 0 && !anywhere {
			v.fail(k, quote(c), "must not match every address: name "+what)
		}
	}
}
