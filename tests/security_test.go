package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/netpol"
	"github.com/pynomaly/pynomaly-platform/postgres"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// The security tier's NetworkPolicies, judged by the evaluator (netpol_eval_test.go) in a world
// of the stack's pod templates and what is around them: every pod is held by a policy, and the
// connections the policies let through are exactly the flow table's, in every environment and in
// the stacks that switch every optional peer on.

// netpolStack is a stack whose policies are checked: the three profiles, and stacks with an
// entry point (ACME certificate), WAL archiving and shared models (their copies off the cluster),
// alert receivers, a Gateway, and the operator monitoring mode.
type netpolStack struct {
	name, env string
	c         cfg
}

var netpolStacks = []netpolStack{
	{"dev", "dev", nil},
	{"staging", "staging", nil},
	{"prod", "prod", nil},
	{"prod-everything", "prod", cfg{
		"edge":    `{"entry": "ingress", "trustedProxies": ["10.244.0.0/16"], "hosts": ["api.example.com"]}`,
		"storage": `{"snapshots": {"className": "csi-snapclass"}, "modelAccessMode": "ReadWriteMany", "modelClassName": "efs-sc"}`,
		// Mid-rotation: the retirement jobs run.
		"secrets":  `{"rotation": {"all": 1}}`,
		"postgres": `{"walArchive": {"s3Bucket": "pynomaly-wal", "endpoint": "https://minio.example:9000"}}`,
		"logging":  `{"mode": "external", "external": {"protocol": "otlp", "endpoint": "https://logs.example.com:4318"}}`,
		"network":  `{"objectStorageCidrs": ["203.0.113.0/24"], "kubernetesApi": {"cidrs": ["172.20.0.1/32"], "ports": [6443]}}`,
		"alertmanager": `{"receivers": {"secretName": "alert-receivers", "slackChannel": "#alerts",
			"email": {"to": "ops@example.com", "from": "am@example.com", "smarthost": "smtp.example.com:2525"}}}`,
	}},
	{"staging-gateway", "staging", cfg{"edge": `{"entry": "gateway", "trustedProxies": ["10.244.0.0/16"], "hosts": ["api.example.com"]}`,
		"network": `{"grafanaPluginCidrs": ["198.51.100.0/24"]}`}},
	{"dev-operator", "dev", cfg{"monitoringMode": "operator"}},
	{"prod-gcp", "prod", cfg{"kubernetes": `{"cloud": "gcp"}`, "identity": `{"objectStorage": "pynomaly-wal@my-project.iam.gserviceaccount.com"}`,
		"postgres": `{"walArchive": {"s3Bucket": "", "region": "", "gcsBucket": "pynomaly-wal"}}`,
		"storage":  `{"modelAccessMode": "ReadWriteMany", "modelClassName": "filestore"}`}},
}

// outsidePeer is a peer of addresses, as the settings describe it: its CIDRs and ports by name.
type outsidePeer struct {
	cidrs []netip.Prefix
	ports map[string][]int
}

// netWorld is the world of one stack: its endpoints, and the address peers the table may name.
// namespaces are the stack's: the platform's, and the node agents' where they run.
type netWorld struct {
	namespaces []string
	endpoints  []endpoint
	outside    map[string]outsidePeer
}

func prefixes(t *testing.T, cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		require.NoError(t, err)
		out = append(out, p)
	}
	return out
}

// newWorld builds the world of a stack from its pod templates and its settings.
func newWorld(t *testing.T, st *Stack, s *config.Settings) netWorld {
	w := netWorld{namespaces: []string{s.Namespace}, outside: map[string]outsidePeer{}}
	if s.NodeAgents() {
		w.namespaces = append(w.namespaces, s.NodeNamespace())
	}
	for i, p := range st.PodTemplates() {
		e := templateEndpoint(t, p, p.Owner.Str(t, "metadata.namespace"), i)
		if p.Owner.Bool(p.Path + ".hostNetwork") {
			// node-exporter: the node's own address, which no pod selector finds.
			e.Namespace, e.IP = "", netip.MustParseAddr("192.168.0.1")
		}
		w.endpoints = append(w.endpoints, e)
	}
	pod := func(name, ns string, labels map[string]string, ip byte, roles []string, ports ...epPort) {
		w.endpoints = append(w.endpoints, endpoint{Name: name, Roles: roles, Namespace: ns, Labels: labels,
			IP: netip.AddrFrom4([4]byte{10, 244, 200, ip}), Ports: ports})
	}
	pod("kube-dns", "kube-system", map[string]string{"k8s-app": "kube-dns"}, 1, []string{netpol.PeerClusterDNS},
		epPort{"dns", 53, "UDP"}, epPort{"dns-tcp", 53, "TCP"})
	// A pod with the platform's very labels in another namespace: no selector of ours means it.
	pod("outsider", "elsewhere", map[string]string{"app": "pynomaly", "component": "api"}, 2, nil, epPort{"http", 8000, "TCP"})
	if s.Edge.Exposed() {
		pod("entry", s.Network.EntryNamespace, map[string]string{"app.kubernetes.io/name": "entry"}, 3, []string{netpol.PeerEntry},
			epPort{"http", 80, "TCP"})
		if s.Edge.TLSOn() && s.Edge.TLS.Issuer.Create == config.CreateACME {
			pod("acme-solver", s.Namespace, map[string]string{"acme.cert-manager.io/http01-solver": "true"}, 4,
				[]string{netpol.PeerACMESolver}, epPort{"http", 8089, "TCP"})
		}
	}
	// A person's troubleshooting pod, labelled as the docs say: a debug client where
	// network.debugClients is on, and a pod like any other (DNS only) where it is off.
	var debugRoles []string
	if s.Network.DebugClients {
		debugRoles = []string{netpol.PeerDebugClient}
	}
	pod("debug", s.Namespace, map[string]string{netpol.DebugClientLabel: "true"}, 8, debugRoles)
	if s.Bundled() && s.Edge.TLSOn() {
		pod("cert-manager", "cert-manager", map[string]string{"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"},
			7, []string{netpol.PeerCertManager}, epPort{"metrics", 9402, "TCP"})
	}
	if !s.Bundled() {
		pod("cluster-prometheus", s.Network.PrometheusNamespace, map[string]string{"app.kubernetes.io/name": "prometheus"}, 5,
			[]string{"prometheus"}, epPort{"http", 9090, "TCP"})
		// Another pod of the monitoring namespace scrapes nothing of ours.
		pod("cluster-grafana", s.Network.PrometheusNamespace, map[string]string{"app.kubernetes.io/name": "grafana"}, 6, nil)
	}
	w.addOutside(t, s)
	return w
}

// addOutside adds the address peers the settings turn on, and addresses in and out of them that
// listen on every port any of them uses (and a database port none does).
func (w *netWorld) addOutside(t *testing.T, s *config.Settings) {
	n := s.Network
	w.outside[netpol.PeerKubernetesAPI] = outsidePeer{prefixes(t, n.KubernetesAPI.CIDRs), map[string][]int{"https": n.KubernetesAPI.Ports}}
	w.outside[netpol.PeerKubelets] = outsidePeer{prefixes(t, n.NodeCIDRs), map[string][]int{"kubelet": {10250}}}
	if s.NodeExporter() {
		w.outside[netpol.PeerNodeExporter] = outsidePeer{prefixes(t, n.NodeCIDRs), map[string][]int{"metrics": {9100}}}
	}
	if s.Bundled() && s.Logging.Mode == config.LoggingBundled && len(n.GrafanaPluginCIDRs) > 0 {
		w.outside[netpol.PeerGrafanaPlugins] = outsidePeer{prefixes(t, n.GrafanaPluginCIDRs), map[string][]int{"https": {443}}}
	}
	if l := s.Logging; l.Mode == config.LoggingExternal {
		port := 443
		if u, err := url.Parse(l.External.Endpoint); err == nil && u.Port() != "" {
			port, _ = strconv.Atoi(u.Port())
		}
		// The store's addresses are not known: any address, on its port.
		w.outside[netpol.PeerExternalLogs] = outsidePeer{prefixes(t, []string{"0.0.0.0/0", "::/0"}), map[string][]int{"logs": {port}}}
	}
	if wal := s.Postgres.WALArchive; s.Kubernetes.Cloud == config.CloudGCP && s.Identity.ObjectStorage != "" && wal.On() {
		// GKE Workload Identity: the node's metadata server, at 169.254.169.254:80 (Dataplane V2)
		// or 169.254.169.252:988 (Calico).
		w.outside[netpol.PeerMetadataServer] = outsidePeer{prefixes(t, []string{"169.254.169.254/32", "169.254.169.252/32"}), map[string][]int{"metadata": {80, 988}}}
	}
	if wal := s.Postgres.WALArchive; wal.On() {
		port := 443
		if u, err := url.Parse(wal.Endpoint); err == nil && u.Port() != "" {
			port, _ = strconv.Atoi(u.Port())
		}
		w.outside[netpol.PeerObjectStorage] = outsidePeer{prefixes(t, n.ObjectStorageCIDRs), map[string][]int{"https": {port}}}
	}
	if r := s.Alertmanager.Receivers; r.Any() {
		ports := map[string][]int{}
		if r.SlackChannel != "" || r.PagerDuty {
			ports["https"] = []int{443}
		}
		if _, p, err := net.SplitHostPort(r.Email.Smarthost); err == nil {
			n, _ := strconv.Atoi(p)
			ports["smtp"] = []int{n}
		}
		// Slack's, PagerDuty's and the smarthost's addresses are not known: any address.
		w.outside[netpol.PeerAlertReceivers] = outsidePeer{prefixes(t, []string{"0.0.0.0/0", "::/0"}), ports}
	}
	var listening []epPort
	for _, name := range slices.Sorted(maps.Keys(w.outside)) {
		for portName, numbers := range w.outside[name].ports {
			for _, p := range numbers {
				listening = append(listening, epPort{portName, p, "TCP"})
			}
		}
	}
	listening = append(listening, epPort{"postgresql", 5432, "TCP"})
	addrs := []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")}
	for _, name := range slices.Sorted(maps.Keys(w.outside)) {
		for _, p := range w.outside[name].cidrs {
			// An address inside: the CIDR's first host (the address itself for a single one).
			if a := p.Masked().Addr(); p.Bits() == a.BitLen() {
				addrs = append(addrs, a)
			} else if p.Bits() > 0 {
				addrs = append(addrs, a.Next())
			}
		}
	}
	for _, a := range addrs {
		w.endpoints = append(w.endpoints, endpoint{Name: a.String(), IP: a, Ports: listening})
	}
}

// templateEndpoint is a pod of a template: its labels, its containers' ports, its scrape port.
func templateEndpoint(t *testing.T, p PodTemplate, namespace string, i int) endpoint {
	meta := strings.TrimSuffix(p.Path, ".spec") + ".metadata"
	labels := p.Owner.StringMap(t, meta+".labels")
	e := endpoint{Name: kindOf(p.Owner) + "/" + p.Owner.Name, Roles: []string{labels["component"]}, Namespace: namespace,
		Labels: labels, IP: netip.AddrFrom4([4]byte{10, 244, byte(i), 1})}
	v, _ := p.Owner.Get(p.Path + ".containers")
	for i := range v.ArrayValue() {
		c := fmt.Sprintf("%s.containers.%d", p.Path, i)
		ports, ok := p.Owner.Get(c + ".ports")
		if !ok {
			continue
		}
		for j := range ports.ArrayValue() {
			port := fmt.Sprintf("%s.ports.%d", c, j)
			proto := "TCP"
			if p.Owner.Has(port + ".protocol") {
				proto = p.Owner.Str(t, port+".protocol")
			}
			e.Ports = append(e.Ports, epPort{p.Owner.Str(t, port+".name"), p.Owner.Int(t, port+".containerPort"), proto})
		}
	}
	if p.Owner.Has(meta + ".annotations") {
		e.MetricsPort, _ = strconv.Atoi(p.Owner.StringMap(t, meta+".annotations")["prometheus.io/port"])
	}
	return e
}

func (w netWorld) local(e endpoint) bool { return slices.Contains(w.namespaces, e.Namespace) }

// expected are the connections the table allows in this world: each flow from every endpoint
// that plays its source to every one that plays its destination, on the destination's port of
// the flow's name (for an address peer, the peer's port numbers where the address is in its
// CIDRs), over TCP and, where the flow says so, UDP.
func (w netWorld) expected(flows []netpol.Flow) map[string]bool {
	out := map[string]bool{}
	for _, f := range flows {
		for _, key := range w.flowKeys(f) {
			out[key] = true
		}
	}
	return out
}

func (w netWorld) flowKeys(f netpol.Flow) []string {
	protos := []string{"TCP"}
	if f.UDP {
		protos = append(protos, "UDP")
	}
	var keys []string
	for _, src := range w.endpoints {
		if !(f.From == netpol.EveryPod && w.local(src)) && !src.has(f.From) && !w.inAddressPeer(f.From, src) {
			continue
		}
		for _, dst := range w.endpoints {
			if !governed(w.namespaces, src, dst) {
				continue
			}
			for _, n := range w.flowPorts(f, dst) {
				for _, proto := range protos {
					keys = append(keys, flowKey(src, dst, n, proto))
				}
			}
		}
	}
	return keys
}

// inAddressPeer says src, outside the namespace, has an address inside the address peer named
// peer. A pod of another namespace counts: an ipBlock admits whatever has an address in it
// (the stricter reading the evaluator takes), and no egress policy of ours holds that pod back.
func (w netWorld) inAddressPeer(peer string, src endpoint) bool {
	p, ok := w.outside[peer]
	if !ok || w.local(src) || !src.IP.IsValid() {
		return false
	}
	return slices.ContainsFunc(p.cidrs, func(c netip.Prefix) bool { return c.Contains(src.IP) })
}

// flowPorts are the port numbers of dst that flow f allows, none when dst is not its destination.
func (w netWorld) flowPorts(f netpol.Flow, dst endpoint) []int {
	var out []int
	switch peer, isAddress := w.outside[f.To]; {
	case f.To == netpol.EveryMetricsPort:
		if w.local(dst) && dst.MetricsPort > 0 {
			out = append(out, dst.MetricsPort)
		}
	case isAddress:
		for _, p := range peer.cidrs {
			if dst.IP.IsValid() && !dst.isPod() && p.Contains(dst.IP) {
				for _, n := range peer.ports[f.Port] {
					if slices.Contains(portNumbers(dst), n) && !slices.Contains(out, n) {
						out = append(out, n)
					}
				}
			}
		}
	case dst.has(f.To):
		for _, p := range dst.Ports {
			if p.Name == f.Port && !slices.Contains(out, p.Number) {
				out = append(out, p.Number)
			}
		}
	}
	return out
}

// flowDiff lists the connections the policies allow and the table does not, and those the table
// allows and the policies do not.
func flowDiff(got, want map[string]bool) (unexpected, missing []string) {
	for k := range got {
		if !want[k] {
			unexpected = append(unexpected, k)
		}
	}
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(unexpected)
	slices.Sort(missing)
	return unexpected, missing
}

type netpolCase struct {
	netpolStack
	st       *Stack
	world    netWorld
	policies []netPolicy
}

var netpolCache struct {
	sync.Mutex
	cases []netpolCase
}

// netpolCases runs every netpolStack once for the package's tests (the mocked runs are the
// suite's slow part).
func netpolCases(t *testing.T) []netpolCase {
	netpolCache.Lock()
	defer netpolCache.Unlock()
	if netpolCache.cases == nil {
		var out []netpolCase
		for _, ns := range netpolStacks {
			st := deploy(t, ns.env, ns.c)
			s := settings(t, ns.env, ns.c)
			out = append(out, netpolCase{ns, st, newWorld(t, st, s), stackPolicies(t, st)})
		}
		netpolCache.cases = out
	}
	return netpolCache.cases
}

func TestNetworkPoliciesHoldEveryPod(t *testing.T) {
	for _, c := range netpolCases(t) {
		n := 0
		for _, e := range c.world.endpoints {
			if !c.world.local(e) {
				continue
			}
			n++
			assert.True(t, selectedFor(c.policies, e, true), "%s: %s is selected by no policy for ingress", c.name, e.Name)
			assert.True(t, selectedFor(c.policies, e, false), "%s: %s is selected by no policy for egress", c.name, e.Name)
		}
		assert.GreaterOrEqual(t, n, len(c.st.PodTemplates()), c.name)
	}
}

// The connections the policies allow, computed from their selectors and ports, are the table's:
// a pair in the table has a path, a pair outside it has none.
func TestNetworkFlowsAreExactlyTheTable(t *testing.T) {
	for _, c := range netpolCases(t) {
		got := evaluate(c.policies, c.world.namespaces, c.world.endpoints)
		want := c.world.expected(netpol.NetworkFlows())
		unexpected, missing := flowDiff(got, want)
		assert.Empty(t, unexpected, "%s: the policies allow connections the table does not", c.name)
		assert.Empty(t, missing, "%s: the table's connections the policies refuse", c.name)
		assert.NotEmpty(t, got, c.name)
	}
}

// Every flow of the table allows something in one of the stacks: a flow naming a component or a
// port that does not exist (a typo, a renamed port) would allow nothing, and the check above
// would not see it.
func TestEveryTableFlowIsUsed(t *testing.T) {
	used := map[int]bool{}
	for _, c := range netpolCases(t) {
		for i, f := range netpol.NetworkFlows() {
			used[i] = used[i] || len(c.world.flowKeys(f)) > 0
		}
	}
	for i, f := range netpol.NetworkFlows() {
		assert.True(t, used[i], "flow %s -> %s:%s allows nothing in any stack", f.From, f.To, f.Port)
	}
}

// The comparison fails on a policy that opens what the table does not, and on a missing rule.
// An egress rule alone opens nothing (the destination's ingress still refuses), which is the
// evaluator's semantics, not the table's.
func TestFlowCheckCatchesAWrongPolicy(t *testing.T) {
	c := netpolCases(t)[2] // prod
	ns := c.world.namespaces[0]
	want := c.world.expected(netpol.NetworkFlows())
	grafanaOut := decodePolicy(t, "extra-egress", ns, []byte(`{"podSelector": {"matchLabels": {"component": "grafana"}},
		"policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {"matchLabels": {"component": "postgres"}}}], "ports": [{"port": 5432}]}]}`))
	postgresIn := decodePolicy(t, "extra-ingress", ns, []byte(`{"podSelector": {"matchLabels": {"component": "postgres"}},
		"policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {"matchLabels": {"component": "grafana"}}}], "ports": [{"port": "postgresql"}]}]}`))

	unexpected, missing := flowDiff(evaluate(append(slices.Clone(c.policies), grafanaOut), c.world.namespaces, c.world.endpoints), want)
	assert.Empty(t, unexpected, "an egress rule alone must open nothing")
	assert.Empty(t, missing)

	unexpected, _ = flowDiff(evaluate(append(slices.Clone(c.policies), grafanaOut, postgresIn), c.world.namespaces, c.world.endpoints), want)
	assert.Equal(t, []string{"Deployment/pynomaly-grafana -> StatefulSet/pynomaly-postgres:5432/TCP"}, unexpected)

	// A rule that lets a whole namespace in (a namespaceSelector without a podSelector) opens
	// Nginx to every pod of the entry point's namespace only where there is one.
	everyone := decodePolicy(t, "extra-open", ns, []byte(`{"podSelector": {"matchLabels": {"component": "postgres"}},
		"policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {}}]}]}`))
	unexpected, _ = flowDiff(evaluate(append(slices.Clone(c.policies), everyone), c.world.namespaces, c.world.endpoints), want)
	assert.Contains(t, unexpected, "outsider -> StatefulSet/pynomaly-postgres:5432/TCP")

	// Without the pooler's ingress rules, its clients have no path.
	var trimmed []netPolicy
	for _, p := range c.policies {
		if p.Name == postgres.PoolerName {
			p.Spec.Ingress = nil
		}
		trimmed = append(trimmed, p)
	}
	_, missing = flowDiff(evaluate(trimmed, c.world.namespaces, c.world.endpoints), want)
	assert.Contains(t, missing, "Deployment/pynomaly-api -> Deployment/pynomaly-postgres-pooler:5432/TCP")
}

// A workload added to the platform without a flow of its own gets the default deny: nothing
// reaches it and it reaches nothing but the cluster's DNS; with a metrics port, Prometheus
// scrapes it and nothing else does. Judged by the evaluator on the policies the security tier
// generates for the declared workloads plus the new ones.
func TestNewWorkloadGetsDefaultDenyOnly(t *testing.T) {
	st := deploy(t, "prod", nil)
	s := settings(t, "prod", nil)
	plain := kube.Workload{Kind: "Deployment", Name: "pynomaly-newcomer", Component: "newcomer",
		Selector: kube.SelectorLabels("newcomer"), Ports: map[string]int{"http": 8080}}
	scraped := kube.Workload{Kind: "Deployment", Name: "pynomaly-scraped", Component: "scraped",
		Selector: kube.SelectorLabels("scraped"), Ports: map[string]int{"http": 8080, "metrics": 9999},
		Metrics: &kube.Metrics{Port: 9999, Path: "/metrics"}}
	sec := &Stack{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := netpol.New(ctx, "security", &netpol.Args{
			Context: tier.Context{Namespace: pulumi.String(s.Namespace)}, Workloads: append(st.Platform.Workloads(), plain, scraped), Network: s.Network,
		})
		return err
	}, pulumi.WithMocks(project, "prod", &mocks{stack: sec, stackName: "prod"}))
	require.NoError(t, err)
	policies := stackPolicies(t, sec)

	w := newWorld(t, st, s)
	newcomer := endpoint{Name: "newcomer", Roles: []string{"newcomer"}, Namespace: s.Namespace, IP: netip.MustParseAddr("10.244.250.1"),
		Labels: kube.SelectorLabels("newcomer"), Ports: []epPort{{"http", 8080, "TCP"}}}
	metrics := endpoint{Name: "scraped", Roles: []string{"scraped"}, Namespace: s.Namespace, IP: netip.MustParseAddr("10.244.250.2"),
		Labels: kube.SelectorLabels("scraped"), Ports: []epPort{{"http", 8080, "TCP"}, {"metrics", 9999, "TCP"}}}
	w.endpoints = append(w.endpoints, newcomer, metrics)
	for key := range evaluate(policies, w.namespaces[:1], w.endpoints) {
		switch {
		case strings.HasPrefix(key, "newcomer -> "), strings.HasPrefix(key, "scraped -> "):
			assert.Regexp(t, ` -> kube-dns:53/(TCP|UDP)$`, key, "a new workload reaches more than the DNS")
		case strings.Contains(key, "-> newcomer:"):
			assert.Fail(t, "a new workload is reachable", key)
		case strings.Contains(key, "-> scraped:"):
			assert.Equal(t, "StatefulSet/pynomaly-prometheus -> scraped:9999/TCP", key)
		}
	}
}

// The default deny comes after every allow: an update that adds the policies never holds the
// deny alone, and a destroy removes it first.
func TestDefaultDenyWaitsForTheAllows(t *testing.T) {
	for _, env := range envs {
		st := deploy(t, env, nil)
		// One deny per namespace: the platform's and, where node agents run, theirs.
		denies := map[string]*Resource{}
		for _, p := range st.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			if p.Str(t, "metadata.name") == netpol.DefaultDenyPolicy {
				denies[p.Str(t, "metadata.namespace")] = p
				assert.Equal(t, map[string]string{}, p.StringMap(t, "spec.podSelector"), "%s: the deny holds every pod", env)
			}
		}
		require.Contains(t, denies, "pynomaly-data-science", env)
		for _, p := range st.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			deny := denies[p.Str(t, "metadata.namespace")]
			if p != deny {
				assert.True(t, st.DependsOn(deny, p), "%s: the default deny does not wait for %s", env, p.Name)
			}
		}
	}
}

// Two runs of one stack declare the same policies, rule for rule: an order that changed between
// runs would make every preview show the policies changed.
func TestNetworkPoliciesAreTheSameEveryRun(t *testing.T) {
	specs := func() map[string]string {
		out := map[string]string{}
		for _, p := range stackPolicies(t, deploy(t, "prod", nil)) {
			b, err := json.Marshal(p.Spec)
			require.NoError(t, err)
			out[p.Name] = string(b)
		}
		return out
	}
	first := specs()
	for range 3 {
		assert.Equal(t, first, specs())
	}
}

// The network policies section of docs/security.md shows the table the policies are generated
// from.
func TestReadmeShowsTheFlowTable(t *testing.T) {
	b, err := os.ReadFile("../docs/security.md")
	require.NoError(t, err)
	_, section, found := strings.Cut(string(b), "\n## Network policies\n")
	require.True(t, found, "docs/security.md has no Network policies section")
	section, _, _ = strings.Cut(section, "\n## ")
	assert.Contains(t, section, netpol.FlowTableMarkdown(), "docs/security.md's flow table differs from netpol.NetworkFlows")
}

// The committed prod stack opens nothing to every address: no NetworkPolicy peer, trusted proxy
// or other object names 0.0.0.0/0 or ::/0, and the API server verifies every aggregated API it
// forwards to. (Redis's ACL still grants its one user every command: named in the security
// issue's note.)
func TestCommittedProdOpensNothingToEveryone(t *testing.T) {
	st := deploy(t, "prod", nil)
	for _, r := range st.Resources {
		inputs := fmt.Sprint(r.Inputs)
		if r.Type == "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy" {
			// Its rate limit names every address, and counts each apart (Distinct): the per-client
			// limit, which opens nothing.
			rules, ok := r.Get("spec.rateLimit.local.rules")
			require.True(t, ok)
			for i := range rules.ArrayValue() {
				assert.Equal(t, "Distinct", r.Str(t, fmt.Sprintf("spec.rateLimit.local.rules.%d.clientSelectors.0.sourceCIDR.type", i)))
			}
			spec := r.Inputs["spec"].ObjectValue().Copy()
			delete(spec, "rateLimit")
			inputs = fmt.Sprint(spec)
		}
		for _, everyone := range []string{"0.0.0.0/0", "::/0"} {
			assert.NotContains(t, inputs, everyone, "%s %s", r.Type, r.Name)
		}
		if r.Type == apiServiceType {
			assert.False(t, r.Bool("spec.insecureSkipTLSVerify"), "%s skips verifying its server", r.Name)
		}
	}
	assert.NotEmpty(t, st.OfType(apiServiceType), "prod registers the external metrics API")
	assert.NotEmpty(t, st.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy"))
}
