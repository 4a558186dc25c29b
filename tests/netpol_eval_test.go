package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// A small NetworkPolicy evaluator: what the API's semantics let through, computed from the
// policies the program declared (their selectors, peers, ports and policy types), for a world of
// endpoints (the stack's pod templates, and pods and addresses around them). It knows nothing of
// the flow table; the tests compare its answer with the table.
//
// Semantics (networking.k8s.io/v1): a pod selected by no policy of a direction is open in that
// direction; a pod selected by some is allowed exactly what one of their rules admits. A
// connection needs the source's egress and the destination's ingress, each judged only where the
// pod is in the policies' namespace. policyTypes absent means Ingress, plus Egress when there are
// egress rules. A rule without peers admits every peer, without ports every port. A podSelector
// peer alone means pods of the policy's namespace; with a namespaceSelector, pods of the
// namespaces it selects. Named ports resolve against the destination pod's declared ports (name
// and protocol). ipBlock matches addresses, pods' included (the conservative reading: network
// plugins differ there).

type labelSelector struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []any             `json:"matchExpressions"`
}

type npPeer struct {
	PodSelector       *labelSelector `json:"podSelector"`
	NamespaceSelector *labelSelector `json:"namespaceSelector"`
	IPBlock           *struct {
		CIDR   string   `json:"cidr"`
		Except []string `json:"except"`
	} `json:"ipBlock"`
}

type npPort struct {
	Port     any    `json:"port"`
	Protocol string `json:"protocol"`
	EndPort  *int   `json:"endPort"`
}

type npRule struct {
	From  []npPeer `json:"from"`
	To    []npPeer `json:"to"`
	Ports []npPort `json:"ports"`
}

type npSpec struct {
	PodSelector *labelSelector `json:"podSelector"`
	PolicyTypes []string       `json:"policyTypes"`
	Ingress     []npRule       `json:"ingress"`
	Egress      []npRule       `json:"egress"`
}

// netPolicy is one NetworkPolicy as the evaluator reads it.
type netPolicy struct {
	Name, Namespace string
	Spec            npSpec
}

// decodePolicy reads a policy's spec from JSON, refusing what the evaluator does not model
// (matchExpressions, endPort, unknown fields), so it can never silently misjudge one.
func decodePolicy(t *testing.T, name, namespace string, spec []byte) netPolicy {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.DisallowUnknownFields()
	p := netPolicy{Name: name, Namespace: namespace}
	require.NoError(t, dec.Decode(&p.Spec), "policy %s: %s", name, spec)
	require.NotNil(t, p.Spec.PodSelector, "policy %s has no podSelector", name)
	var selectors []*labelSelector
	selectors = append(selectors, p.Spec.PodSelector)
	for _, r := range append(slices.Clone(p.Spec.Ingress), p.Spec.Egress...) {
		for _, peer := range append(slices.Clone(r.From), r.To...) {
			selectors = append(selectors, peer.PodSelector, peer.NamespaceSelector)
		}
		for _, port := range r.Ports {
			require.Nil(t, port.EndPort, "policy %s: endPort is not modelled", name)
		}
	}
	for _, s := range selectors {
		require.True(t, s == nil || len(s.MatchExpressions) == 0, "policy %s: matchExpressions are not modelled", name)
	}
	return p
}

// stackPolicies are the NetworkPolicies a stack declared.
func stackPolicies(t *testing.T, st *Stack) []netPolicy {
	t.Helper()
	var out []netPolicy
	for _, r := range st.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		v, ok := r.Get("spec")
		require.True(t, ok, "policy %s has no spec", r.Name)
		b, err := json.Marshal(v.Mappable())
		require.NoError(t, err)
		out = append(out, decodePolicy(t, r.Str(t, "metadata.name"), r.Str(t, "metadata.namespace"), b))
	}
	return out
}

// epPort is a port an endpoint listens on.
type epPort struct {
	Name     string
	Number   int
	Protocol string
}

// endpoint is a pod, or an address outside the cluster, of the evaluator's world.
type endpoint struct {
	// Name identifies it in reports; Roles are the names the flow table may give it.
	Name  string
	Roles []string
	// Namespace and Labels for a pod ("" namespace: an address outside the cluster).
	Namespace string
	Labels    map[string]string
	IP        netip.Addr
	Ports     []epPort
	// MetricsPort is the port its scrape annotation names; 0 for none.
	MetricsPort int
}

func (e endpoint) isPod() bool { return e.Namespace != "" }

func (e endpoint) has(role string) bool { return slices.Contains(e.Roles, role) }

func (p netPolicy) types() (ingress, egress bool) {
	if p.Spec.PolicyTypes == nil {
		return true, len(p.Spec.Egress) > 0
	}
	return slices.Contains(p.Spec.PolicyTypes, "Ingress"), slices.Contains(p.Spec.PolicyTypes, "Egress")
}

func (p netPolicy) selects(e endpoint) bool {
	return e.isPod() && e.Namespace == p.Namespace && matches(p.Spec.PodSelector.MatchLabels, e.Labels)
}

func (p netPolicy) peerMatches(peer npPeer, e endpoint) bool {
	if b := peer.IPBlock; b != nil {
		prefix, err := netip.ParsePrefix(b.CIDR)
		if err != nil || !e.IP.IsValid() || !prefix.Contains(e.IP) {
			return false
		}
		for _, x := range b.Except {
			if ex, err := netip.ParsePrefix(x); err == nil && ex.Contains(e.IP) {
				return false
			}
		}
		return true
	}
	if !e.isPod() {
		return false
	}
	if peer.NamespaceSelector == nil {
		if e.Namespace != p.Namespace {
			return false
		}
	} else if !matches(peer.NamespaceSelector.MatchLabels, map[string]string{"kubernetes.io/metadata.name": e.Namespace}) {
		return false
	}
	return peer.PodSelector == nil || matches(peer.PodSelector.MatchLabels, e.Labels)
}

// portMatches says whether a rule's port admits number/proto on dst.
func portMatches(port npPort, dst endpoint, number int, proto string) bool {
	want := port.Protocol
	if want == "" {
		want = "TCP"
	}
	if want != proto {
		return false
	}
	switch v := port.Port.(type) {
	case nil:
		return true
	case float64:
		return int(v) == number
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n == number
		}
		for _, p := range dst.Ports {
			if p.Name == v && p.Protocol == proto && p.Number == number {
				return true
			}
		}
	}
	return false
}

func (p netPolicy) admits(rules []npRule, ingress bool, other, dst endpoint, number int, proto string) bool {
	for _, r := range rules {
		peers := r.To
		if ingress {
			peers = r.From
		}
		peerOK := len(peers) == 0
		for _, peer := range peers {
			peerOK = peerOK || p.peerMatches(peer, other)
		}
		portOK := len(r.Ports) == 0
		for _, port := range r.Ports {
			portOK = portOK || portMatches(port, dst, number, proto)
		}
		if peerOK && portOK {
			return true
		}
	}
	return false
}

// allowed says whether src may open number/proto on dst.
func allowed(policies []netPolicy, src, dst endpoint, number int, proto string) bool {
	egressOK, ingressOK := true, true
	selectedOut, selectedIn := false, false
	allowedOut, allowedIn := false, false
	for _, p := range policies {
		in, out := p.types()
		if out && p.selects(src) {
			selectedOut = true
			allowedOut = allowedOut || p.admits(p.Spec.Egress, false, dst, dst, number, proto)
		}
		if in && p.selects(dst) {
			selectedIn = true
			allowedIn = allowedIn || p.admits(p.Spec.Ingress, true, src, dst, number, proto)
		}
	}
	if selectedOut {
		egressOK = allowedOut
	}
	if selectedIn {
		ingressOK = allowedIn
	}
	return egressOK && ingressOK
}

// selectedFor says whether some policy selects e for a direction.
func selectedFor(policies []netPolicy, e endpoint, ingress bool) bool {
	for _, p := range policies {
		in, out := p.types()
		if p.selects(e) && ((ingress && in) || (!ingress && out)) {
			return true
		}
	}
	return false
}

func flowKey(src, dst endpoint, number int, proto string) string {
	return fmt.Sprintf("%s -> %s:%d/%s", src.Name, dst.Name, number, proto)
}

// governed says whether a pair is the stack's business: at least one end is a pod of one of its
// namespaces (the platform's, the node agents').
func governed(namespaces []string, src, dst endpoint) bool {
	return slices.Contains(namespaces, src.Namespace) || slices.Contains(namespaces, dst.Namespace)
}

// evaluate is every connection the policies let through in the world, between pairs with at
// least one end in namespaces, probed on every port a destination declares, over TCP and UDP.
func evaluate(policies []netPolicy, namespaces []string, world []endpoint) map[string]bool {
	out := map[string]bool{}
	for _, src := range world {
		for _, dst := range world {
			if !governed(namespaces, src, dst) {
				continue
			}
			for _, number := range portNumbers(dst) {
				for _, proto := range []string{"TCP", "UDP"} {
					if allowed(policies, src, dst, number, proto) {
						out[flowKey(src, dst, number, proto)] = true
					}
				}
			}
		}
	}
	return out
}

func portNumbers(e endpoint) []int {
	var out []int
	for _, p := range e.Ports {
		if !slices.Contains(out, p.Number) {
			out = append(out, p.Number)
		}
	}
	return out
}
