// Package netpol is the security tier: a default-deny NetworkPolicy for the namespace and one
// policy per workload, generated from every declared workload and the one flow table of who may
// talk to whom (flows.go).
package netpol

import (
	"fmt"
	"slices"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names of the security tier's objects.
const (
	DefaultDenyPolicy = "pynomaly-default-deny"
	everyPodPolicy    = "pynomaly-every-pod"
	acmeSolverPolicy  = "pynomaly-acme-solver"
	debugClientPolicy = "pynomaly-debug-client"
	// DebugClientLabel, set to "true", makes a pod of the namespace a debug client.
	DebugClientLabel = "pynomaly.io/debug-client"
	// namespaceNameLabel is the label the API server gives every namespace: its name.
	namespaceNameLabel = "kubernetes.io/metadata.name"
	// cert-manager's HTTP-01 solver pods carry this label and listen on this port.
	acmeSolverLabel = "acme.cert-manager.io/http01-solver"
	acmeSolverPort  = 8089
)

// The GKE metadata server, as a NetworkPolicy sees it: 169.254.169.254 on port 80 under Dataplane
// V2, 169.254.169.252 on port 988 where Calico enforces the policies (the address the node
// redirects the first to).
var (
	MetadataServerCIDRs = []string{"169.254.169.254/32", "169.254.169.252/32"}
	MetadataServerPorts = []int{80, 988}
)

// Args configures the security tier.
type Args struct {
	tier.Context
	// Workloads are every other tier's: the ends of the flows, with their selectors and ports.
	Workloads []kube.Workload
	Network   config.Network
	// Exposed says an entry point brings traffic from outside the cluster (edge.entry).
	Exposed bool
	// ACMESolver says cert-manager answers HTTP-01 challenges with solver pods in the namespace.
	ACMESolver bool
	// OperatorPrometheus says the cluster's Prometheus scrapes the namespace (monitoringMode
	// operator) instead of the monitoring tier's.
	OperatorPrometheus bool
	// ObjectStoragePort is WAL-G's object store's port; 0 while archiving is off.
	ObjectStoragePort int
	// MetadataServer says the object storage workloads get their cloud token from the node's
	// metadata server (GKE Workload Identity).
	MetadataServer bool
	// ReceiverPorts are the alert receivers' ports by name (https, smtp); none without receivers.
	ReceiverPorts map[string]int
	// CertManagerScraped says the monitoring tier's Prometheus reads cert-manager's metrics
	// (CertManagerMetrics, a standard install) for the certificate's expiry.
	CertManagerScraped bool
	// Neighbours are the workloads of the other namespace of the stack (NeighbourNamespace):
	// the node agents' for the platform's namespace, the platform's for the node agents'. A flow
	// between the two is an egress rule in one namespace and an ingress rule in the other.
	Neighbours         []kube.Workload
	NeighbourNamespace string
	// NodeExporterPort is node-exporter's port on every node (it shares the node's network, so
	// Prometheus reaches it at network.nodeCidrs); 0 when it does not run.
	NodeExporterPort int
	// ExternalLogsPort is the external log store's port (logging.mode external); 0 otherwise.
	ExternalLogsPort int
	// GrafanaPluginCIDRs are where Grafana downloads its logs datasource's plugin at start (a
	// bundled log store beside the bundled Grafana); none: no download.
	GrafanaPluginCIDRs []string
	// NamePrefix starts the Pulumi names of the tier's policies: a stack has one security tier
	// per namespace, whose policies share their Kubernetes names.
	NamePrefix string
}

// Security is the namespace's NetworkPolicies: a default deny of everything in and out, and one
// policy per workload that allows the flows of NetworkFlows, generated from the workloads.
type Security struct {
	pulumi.ResourceState
	tier.OutputSet

	// Policies are the names of the NetworkPolicies, the default deny last.
	Policies []string
}

// New creates the security tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Security, error) {
	c := &Security{}
	if err := ctx.RegisterComponentResource(tier.Type("Security"), name, c, opts...); err != nil {
		return nil, err
	}
	if len(args.Workloads) == 0 {
		// A namespace without pods a policy applies to (the node agents' with node-exporter
		// alone) needs none.
		c.Keep(pulumi.Map{})
		return c, nil
	}
	policies, err := networkPolicies(args)
	if err != nil {
		return nil, err
	}
	var allows []pulumi.Resource
	for _, p := range policies {
		r, err := networkingv1.NewNetworkPolicy(ctx, args.NamePrefix+p.name, &networkingv1.NetworkPolicyArgs{
			Metadata: kube.ObjectMeta(ctx, args.Namespace, p.name, "security"),
			Spec:     p.spec(),
		}, pulumi.Parent(c))
		if err != nil {
			return nil, fmt.Errorf("security: network policy %s: %w", p.name, err)
		}
		allows = append(allows, r)
		c.Policies = append(c.Policies, p.name)
	}
	// After the allows: a stack that gets its policies on an update never has the deny without
	// them, and a destroy removes the deny first.
	if _, err := networkingv1.NewNetworkPolicy(ctx, args.NamePrefix+DefaultDenyPolicy, &networkingv1.NetworkPolicyArgs{
		Metadata: kube.ObjectMeta(ctx, args.Namespace, DefaultDenyPolicy, "security"),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
		},
	}, pulumi.Parent(c), kube.After(allows)); err != nil {
		return nil, fmt.Errorf("security: default deny: %w", err)
	}
	c.Policies = append(c.Policies, DefaultDenyPolicy)
	c.Keep(pulumi.Map{"policies": pulumi.ToStringArray(c.Policies)})
	return c, nil
}

// netPeer is one end of a flow: pods of the namespace (selector), pods of another namespace
// (namespace and labels), or addresses outside the cluster (cidrs).
type netPeer struct {
	// policy names the NetworkPolicy of pods of the namespace; empty for a peer outside it.
	policy    string
	selector  map[string]string
	namespace string
	labels    map[string]string
	cidrs     []string
	// ports are the peer's port numbers by name.
	ports map[string][]int
	// named says the pods declare the ports by these names, so an ingress rule can name them.
	named bool
	// metrics is a workload's metrics port's name; empty when it has none.
	metrics string
}

func (p netPeer) local() bool { return p.policy != "" }

// workloadPeer is a declared workload as a flow's end.
func workloadPeer(w kube.Workload) (netPeer, error) {
	p := netPeer{policy: w.Name, selector: w.Selector, ports: map[string][]int{}, named: true}
	for name, port := range w.Ports {
		p.ports[name] = []int{port}
		if w.Metrics != nil && port == w.Metrics.Port {
			p.metrics = name
		}
	}
	if w.Metrics != nil && p.metrics == "" {
		return p, fmt.Errorf("security: %s %s: metrics port %d is none of its named ports", w.Kind, w.Name, w.Metrics.Port)
	}
	return p, nil
}

// peers are the ends of the flows a stack has, by the names the table uses: its workloads by
// component, and the peers outside them that the settings switch on.
func peers(args *Args) (map[string][]netPeer, error) {
	out := map[string][]netPeer{EveryPod: {{policy: everyPodPolicy, selector: map[string]string{}}}}
	for _, w := range args.Workloads {
		p, err := workloadPeer(w)
		if err != nil {
			return nil, err
		}
		out[w.Component] = append(out[w.Component], p)
	}
	for _, w := range args.Neighbours {
		p, err := workloadPeer(w)
		if err != nil {
			return nil, err
		}
		p.policy, p.named, p.namespace, p.labels = "", false, args.NeighbourNamespace, w.Selector
		out[w.Component] = append(out[w.Component], p)
	}
	n := args.Network
	outside := map[string]netPeer{
		PeerClusterDNS:    {namespace: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}, ports: map[string][]int{"dns": {53}}},
		PeerKubernetesAPI: {cidrs: n.KubernetesAPI.CIDRs, ports: map[string][]int{"https": n.KubernetesAPI.Ports}},
		PeerKubelets:      {cidrs: n.NodeCIDRs, ports: map[string][]int{"kubelet": {config.KubeletPort}}},
	}
	if args.Exposed {
		outside[PeerEntry] = netPeer{namespace: n.EntryNamespace}
	}
	if args.Exposed && args.ACMESolver {
		out[PeerACMESolver] = []netPeer{{policy: acmeSolverPolicy, selector: map[string]string{acmeSolverLabel: "true"},
			ports: map[string][]int{"http": {acmeSolverPort}}}}
	}
	if args.Network.DebugClients {
		out[PeerDebugClient] = []netPeer{{policy: debugClientPolicy, selector: map[string]string{DebugClientLabel: "true"}}}
	}
	if args.OperatorPrometheus {
		outside["prometheus"] = netPeer{namespace: n.PrometheusNamespace, labels: map[string]string{"app.kubernetes.io/name": "prometheus"}}
	}
	if args.ObjectStoragePort > 0 {
		outside[PeerObjectStorage] = netPeer{cidrs: n.ObjectStorageCIDRs, ports: map[string][]int{"https": {args.ObjectStoragePort}}}
	}
	if args.MetadataServer {
		outside[PeerMetadataServer] = netPeer{cidrs: MetadataServerCIDRs, ports: map[string][]int{"metadata": MetadataServerPorts}}
	}
	if args.CertManagerScraped {
		// The standard install's controller pods, in its namespace (CertManagerMetrics).
		outside[PeerCertManager] = netPeer{namespace: "cert-manager",
			labels: map[string]string{"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"},
			ports:  map[string][]int{"metrics": {CertManagerMetricsPort}}}
	}
	if args.NodeExporterPort > 0 {
		outside[PeerNodeExporter] = netPeer{cidrs: n.NodeCIDRs, ports: map[string][]int{"metrics": {args.NodeExporterPort}}}
	}
	if args.ExternalLogsPort > 0 {
		// Its addresses are not known: any address, on its port only, like the alert receivers.
		outside[PeerExternalLogs] = netPeer{cidrs: []string{"0.0.0.0/0", "::/0"}, ports: map[string][]int{"logs": {args.ExternalLogsPort}}}
	}
	if len(args.GrafanaPluginCIDRs) > 0 {
		outside[PeerGrafanaPlugins] = netPeer{cidrs: args.GrafanaPluginCIDRs, ports: map[string][]int{"https": {443}}}
	}
	if len(args.ReceiverPorts) > 0 {
		receivers := netPeer{cidrs: []string{"0.0.0.0/0", "::/0"}, ports: map[string][]int{}}
		for name, port := range args.ReceiverPorts {
			receivers.ports[name] = []int{port}
		}
		outside[PeerAlertReceivers] = receivers
	}
	for name, p := range outside {
		if _, declared := out[name]; !declared {
			out[name] = []netPeer{p}
		}
	}
	return out, nil
}

// Target is a flow's destination with the name of its port.
type Target struct {
	peer netPeer
	port string
}

func Targets(ends map[string][]netPeer, components []string, f Flow) []Target {
	var out []Target
	if f.To != EveryMetricsPort {
		for _, p := range ends[f.To] {
			out = append(out, Target{p, f.Port})
		}
		return out
	}
	// In the order the workloads were declared: a policy's rules must be the same every run, or
	// every preview would show it changed.
	for _, name := range components {
		for _, p := range ends[name] {
			if p.metrics != "" {
				out = append(out, Target{p, p.metrics})
			}
		}
	}
	return out
}

// networkPolicies turns the table into policies: for every flow, an egress rule on the source's
// pods and an ingress rule on the destination's, where they are the namespace's.
func networkPolicies(args *Args) ([]*netPolicy, error) {
	ends, err := peers(args)
	if err != nil {
		return nil, err
	}
	byName := map[string]*netPolicy{}
	policyOf := func(p netPeer) *netPolicy {
		if byName[p.policy] == nil {
			byName[p.policy] = &netPolicy{name: p.policy, selector: p.selector}
		}
		return byName[p.policy]
	}
	var components []string
	for _, w := range append(slices.Clone(args.Workloads), args.Neighbours...) {
		if !slices.Contains(components, w.Component) {
			components = append(components, w.Component)
		}
	}
	for _, f := range NetworkFlows() {
		for _, from := range ends[f.From] {
			for _, to := range Targets(ends, components, f) {
				numbers := to.peer.ports[to.port]
				if len(numbers) == 0 || (!from.local() && !to.peer.local()) {
					continue
				}
				if from.local() {
					pol := policyOf(from)
					pol.egress = append(pol.egress, netRule{peer: to.peer, ports: egressPorts(numbers, f.UDP)})
				}
				if to.peer.local() {
					pol := policyOf(to.peer)
					pol.ingress = append(pol.ingress, netRule{peer: from, ports: ingressPorts(to, numbers, f.UDP)})
				}
			}
		}
	}
	// In a fixed order: the every-pod policy, the workloads', the solver's, the debug clients'.
	order := []string{everyPodPolicy}
	for _, w := range args.Workloads {
		order = append(order, w.Name)
	}
	var out []*netPolicy
	for _, name := range append(order, acmeSolverPolicy, debugClientPolicy) {
		if p := byName[name]; p != nil && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// netPort is one port of a rule: a number or a name, and its protocol.
type netPort struct {
	number   int
	name     string
	protocol string
}

// egressPorts are numbers: a named port in an egress rule is resolved against the destination's
// pods, which not every network plugin does, and addresses outside have no names at all.
func egressPorts(numbers []int, udp bool) []netPort {
	var out []netPort
	for _, proto := range protocols(udp) {
		for _, n := range numbers {
			out = append(out, netPort{number: n, protocol: proto})
		}
	}
	return out
}

// ingressPorts name the port where the pods declare it (a renumbered port keeps its rule); UDP
// goes by number, since the pods declare their ports as TCP.
func ingressPorts(to Target, numbers []int, udp bool) []netPort {
	var out []netPort
	for _, proto := range protocols(udp) {
		if to.peer.named && proto == "TCP" {
			out = append(out, netPort{name: to.port, protocol: proto})
			continue
		}
		for _, n := range numbers {
			out = append(out, netPort{number: n, protocol: proto})
		}
	}
	return out
}

func protocols(udp bool) []string {
	if udp {
		return []string{"TCP", "UDP"}
	}
	return []string{"TCP"}
}

// netPolicy is the NetworkPolicy of one set of pods of the namespace.
type netPolicy struct {
	name            string
	selector        map[string]string
	ingress, egress []netRule
}

// netRule allows traffic with peer on ports.
type netRule struct {
	peer  netPeer
	ports []netPort
}

// spec is the policy's spec. Its types are those it has rules of: the default deny already
// holds both directions of every pod.
func (p *netPolicy) spec() *networkingv1.NetworkPolicySpecArgs {
	spec := &networkingv1.NetworkPolicySpecArgs{PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(p.selector)}}
	var types []string
	if len(p.ingress) > 0 {
		types = append(types, "Ingress")
		var rules networkingv1.NetworkPolicyIngressRuleArray
		for _, r := range p.ingress {
			rules = append(rules, &networkingv1.NetworkPolicyIngressRuleArgs{From: r.peers(), Ports: r.portArgs()})
		}
		spec.Ingress = rules
	}
	if len(p.egress) > 0 {
		types = append(types, "Egress")
		var rules networkingv1.NetworkPolicyEgressRuleArray
		for _, r := range p.egress {
			rules = append(rules, &networkingv1.NetworkPolicyEgressRuleArgs{To: r.peers(), Ports: r.portArgs()})
		}
		spec.Egress = rules
	}
	spec.PolicyTypes = pulumi.ToStringArray(types)
	return spec
}

// peers are the rule's peer as NetworkPolicy peers: one per CIDR, or one pod selector (scoped to
// another namespace by its name label).
func (r netRule) peers() networkingv1.NetworkPolicyPeerArray {
	p := r.peer
	var out networkingv1.NetworkPolicyPeerArray
	for _, cidr := range p.cidrs {
		out = append(out, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
	}
	if len(p.cidrs) > 0 {
		return out
	}
	if p.local() {
		return append(out, &networkingv1.NetworkPolicyPeerArgs{PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(p.selector)}})
	}
	peer := &networkingv1.NetworkPolicyPeerArgs{
		NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{namespaceNameLabel: pulumi.String(p.namespace)}},
	}
	if len(p.labels) > 0 {
		peer.PodSelector = &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(p.labels)}
	}
	return append(out, peer)
}

func (r netRule) portArgs() networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, p := range r.ports {
		var port pulumi.Input = pulumi.Int(p.number)
		if p.name != "" {
			port = pulumi.String(p.name)
		}
		out = append(out, &networkingv1.NetworkPolicyPortArgs{Port: port, Protocol: pulumi.String(p.protocol)})
	}
	return out
}

// CertManagerMetricsPort is CertManagerMetrics's port.
const CertManagerMetricsPort = 9402
