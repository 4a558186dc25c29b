package load

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/pynomaly/pynomaly-platform/config"
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
	v.cidrs("network.kubernetesApi.cidrs", n.KubernetesAPI.CIDRs, true, "the API server's endpoint addresses (kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes)")
	if len(n.KubernetesAPI.Ports) == 0 {
		v.fail("network.kubernetesApi.ports", "[]", "must name the API server's endpoint ports (443 on managed clusters, 6443 on kubeadm, kind and k3s): Patroni keeps its leader lock there")
	}
	for i, p := range n.KubernetesAPI.Ports {
		if p < 1 || p > 65535 {
			v.fail(fmt.Sprintf("network.kubernetesApi.ports[%d]", i), fmt.Sprint(p), "must be a port number, 1 to 65535")
		}
	}
	v.cidrs("network.nodeCidrs", n.NodeCIDRs, true, "the nodes' addresses, where Prometheus scrapes the kubelets")
	if s.Postgres.WALArchive.On() || len(n.ObjectStorageCIDRs) > 0 {
		v.cidrs("network.objectStorageCidrs", n.ObjectStorageCIDRs, true,
			"the object store's addresses when postgres.walArchive names a store: its VPC endpoint's subnets, or the ranges "+
				"the cloud publishes for the store in its region (AWS: ip-ranges.json, service S3)")
	}
	v.cidrs("network.grafanaPluginCidrs", n.GrafanaPluginCIDRs, false, "the addresses Grafana downloads its logs datasource's plugin from")
	switch pn := n.PrometheusNamespace; {
	case !config.DNSLabel.MatchString(pn) || len(pn) > 63:
		v.fail("network.prometheusNamespace", quote(pn), "must be a namespace name (a DNS label): where the cluster's Prometheus runs in monitoringMode operator")
	case reservedNamespace(pn):
		v.fail("network.prometheusNamespace", quote(pn), "must be the namespace of the cluster's Prometheus alone, not default or a kube- one: "+
			"the NetworkPolicies open every metrics port to all pods of that namespace, and the cluster's own components run there")
	}
}

// cidrs checks a list of CIDRs; required says it must not be empty. No CIDR may match every
// address, and neither may the list as a whole (0.0.0.0/1 with 128.0.0.0/1 is 0.0.0.0/0): a
// NetworkPolicy peer or a trusted proxy that is everyone narrows nothing.
func (v *validator) cidrs(key string, cidrs []string, required bool, what string) {
	if len(cidrs) == 0 && required {
		v.fail(key, "[]", "must name "+what)
	}
	var prefixes []netip.Prefix
	for i, c := range cidrs {
		k := fmt.Sprintf("%s[%d]", key, i)
		p, err := netip.ParsePrefix(c)
		switch {
		case err != nil:
			v.fail(k, quote(c), `must be a CIDR such as "10.0.0.0/16" or "fd00::/64"`)
		case p.Bits() == 0:
			v.fail(k, quote(c), "must not match every address: name "+what)
		default:
			prefixes = append(prefixes, p.Masked())
		}
	}
	for _, everything := range []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")} {
		if len(prefixes) > 1 && coversAll(prefixes, everything) {
			list, _ := json.Marshal(cidrs)
			v.fail(key, string(list), "must not match every address, as these CIDRs do together ("+everything.String()+"): name "+what)
		}
	}
}

// coversAll says whether prefixes together hold every address of p: one of them holds p, or
// each half of p is covered in turn. Only halves some prefix overlaps are split further, and the
// first gap ends the search, so a list of n prefixes costs at most n times the address length.
func coversAll(prefixes []netip.Prefix, p netip.Prefix) bool {
	overlaps := false
	for _, q := range prefixes {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
		overlaps = overlaps || q.Overlaps(p)
	}
	if !overlaps || p.Bits() == p.Addr().BitLen() {
		return false
	}
	low, high := halves(p)
	return coversAll(prefixes, low) && coversAll(prefixes, high)
}

// halves are p's two prefixes one bit longer.
func halves(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	b := p.Addr().AsSlice()
	b[p.Bits()/8] |= 0x80 >> (p.Bits() % 8)
	high, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(p.Addr(), p.Bits()+1), netip.PrefixFrom(high, p.Bits()+1)
}
