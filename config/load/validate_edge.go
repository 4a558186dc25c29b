package load

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pynomaly/pynomaly-platform/config"
)

// The edge's checks, in the order of the Edge fields. Where a mode is off (no entry point, no
// TLS) its settings are not checked: a stack need not fill in what it does not use.

// nginxSize is an nginx size: bytes, or k, m, g units (client_max_body_size 100m).
var nginxSize = regexp.MustCompile(`^[0-9]+[kKmMgG]?$`)

// hostName is a DNS name, optionally a wildcard's (*.example.com), as Ingress and HTTPRoute take.
var hostName = regexp.MustCompile(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`)

func validateEdge(s *config.Settings, v *validator, lr limitRangeMax) {
	e := s.Edge
	if e.Replicas < 1 {
		v.fail("edge.replicas", fmt.Sprint(e.Replicas), "must be at least 1")
	}
	v.resources("edge.resources", e.Resources, lr)
	v.oneOf("edge.entry", string(e.Entry), []string{string(config.EntryIngress), string(config.EntryGateway), string(config.EntryNone)})
	validateEdgeHosts(s, v)
	validateGrafanaHost(s, v)
	validateEdgeCloud(e, v)
	if e.RateLimit.RequestsPerMinute < 1 {
		v.fail("edge.rateLimit.requestsPerMinute", fmt.Sprint(e.RateLimit.RequestsPerMinute), "must be at least 1 (the seed: 100)")
	}
	if e.RateLimit.Burst < 0 {
		v.fail("edge.rateLimit.burst", fmt.Sprint(e.RateLimit.Burst), "must be 0 or more: the requests a client may send at once beyond the rate")
	}
	validateTrustedProxies(v, e)
	switch size := e.ClientMaxBodySize; {
	case !nginxSize.MatchString(size):
		v.fail("edge.clientMaxBodySize", quote(size), `must be an nginx size such as "100m", "512k" or "1g"`)
	case strings.Trim(size, "0kKmMgG") == "":
		v.fail("edge.clientMaxBodySize", quote(size), `must be more than 0, such as "100m": nginx reads 0 as no limit at all`)
	}
	for _, t := range []struct {
		field   string
		seconds int
	}{{"connectSeconds", e.Timeouts.ConnectSeconds}, {"readSeconds", e.Timeouts.ReadSeconds}, {"sendSeconds", e.Timeouts.SendSeconds}} {
		if t.seconds < 1 {
			v.fail("edge.timeouts."+t.field, fmt.Sprint(t.seconds), "must be at least 1")
		}
	}
	validateEdgeCapacity(v, e)
	validateEntry(s, v)
	validateEdgeTLS(s, v)
}

// validateEdgeCloud checks what the entry point carries for the cloud: the load balancer's
// annotations, and external-dns's, which need an entry point to annotate.
func validateEdgeCloud(e config.Edge, v *validator) {
	for _, a := range slices.Sorted(maps.Keys(e.Gateway.LoadBalancerAnnotations)) {
		if len(validation.IsQualifiedName(a)) > 0 {
			v.fail(labelPath("edge.gateway.loadBalancerAnnotations", a), quote(e.Gateway.LoadBalancerAnnotations[a]),
				quote(a)+" is not an annotation key: an optional prefix (a DNS subdomain) and '/', then a name")
		}
	}
	if e.DNS.ExternalDNS && !e.Exposed() {
		v.fail("edge.dns.externalDns", "true", "needs an entry point to annotate (edge.entry ingress or gateway); with entry none there is no address to publish")
	}
	if e.DNS.TTLSeconds < 30 || e.DNS.TTLSeconds > 86400 {
		v.fail("edge.dns.ttlSeconds", fmt.Sprint(e.DNS.TTLSeconds), "must be 30 to 86400 seconds (the default, 60, lets a switch to another cluster take effect within minutes)")
	}
}

func validateEdgeHosts(s *config.Settings, v *validator) {
	e := s.Edge
	if e.Exposed() && len(e.Hosts) == 0 {
		v.fail("edge.hosts", "[]", "must name at least one host when edge.entry is "+string(e.Entry))
	}
	for i, h := range e.Hosts {
		key := fmt.Sprintf("edge.hosts[%d]", i)
		switch {
		case !hostName.MatchString(h) || len(h) > 253:
			v.fail(key, quote(h), "must be a lowercase DNS name such as api.example.com (or *.example.com)")
		case e.TLSOn() && e.TLS.Issuer.Create == config.CreateACME && strings.HasPrefix(h, "*."):
			v.fail(key, quote(h), "must not be a wildcard with edge.tls.issuer.create acme: HTTP-01 cannot prove one; name an existing issuer that solves DNS-01")
		}
	}
}

// validateGrafanaHost: Grafana's public host is one name of its own, served through the edge's
// entry point to the Grafana the program runs.
func validateGrafanaHost(s *config.Settings, v *validator) {
	h := s.Grafana.Host
	if h == "" {
		return
	}
	switch {
	case !hostName.MatchString(h) || strings.HasPrefix(h, "*.") || len(h) > 253:
		v.fail("grafana.host", quote(h), "must be a lowercase DNS name such as grafana.example.com (not a wildcard), or empty: Grafana stays inside the cluster")
	case slices.Contains(s.Edge.Hosts, h):
		v.fail("grafana.host", quote(h), "must differ from every edge.hosts: the entry point and Nginx tell Grafana from the API by its host")
	case !s.Bundled():
		v.fail("grafana.host", quote(h), "must be empty with monitoringMode operator: the program runs no Grafana then; expose the cluster's own where it is installed")
	case !s.Edge.Exposed():
		v.fail("grafana.host", quote(h), "needs an entry point (edge.entry ingress or gateway): with entry none nothing reaches Grafana from outside; "+
			"leave it empty to keep Grafana inside the cluster (kubectl port-forward)")
	}
}

// validateTrustedProxies: the CIDRs whose X-Forwarded-For the edge believes. None may trust
// everyone, alone or together: then any client could name its own address, and with it its own
// rate limit budget. With an entry point they must be named: every request then comes from the
// entry's pods, and without them all clients would share those pods' budgets.
func validateTrustedProxies(v *validator, e config.Edge) {
	v.cidrs("edge.trustedProxies", e.TrustedProxies, e.Exposed(), trustedProxiesWhat)
}

const trustedProxiesWhat = "the entry point's pods' addresses (the Ingress controller's or the Gateway's: the cluster's pod CIDR, " +
	"or the nodes' when its load balancer forwards through them): an entry point's requests all come from them, " +
	"and without them every client would share one rate limit budget"

// validateEdgeCapacity is the edge's arithmetic: every proxied request holds two connections of
// one worker (the client's and the one to the API), so the pods' workers must hold
// concurrentRequests at once.
func validateEdgeCapacity(v *validator, e config.Edge) {
	ok := true
	if e.ConcurrentRequests < 1 {
		v.fail("edge.concurrentRequests", fmt.Sprint(e.ConcurrentRequests), "must be at least 1 (the seed: 10000 in prod)")
		ok = false
	}
	if e.WorkerProcesses < 1 {
		v.fail("edge.workerProcesses", fmt.Sprint(e.WorkerProcesses), "must be at least 1")
		ok = false
	}
	if e.WorkerConnections < 64 {
		v.fail("edge.workerConnections", fmt.Sprint(e.WorkerConnections), "must be at least 64")
		ok = false
	}
	if !ok || e.Replicas < 1 {
		return
	}
	if have := e.Capacity(); have < e.ConcurrentRequests {
		workers := e.Replicas * e.WorkerProcesses
		v.fail("edge.workerConnections", fmt.Sprint(e.WorkerConnections), fmt.Sprintf(
			"edge.replicas (%d) x edge.workerProcesses (%d) x edge.workerConnections / 2 (a client and an API connection per request) = %d requests at once, fewer than edge.concurrentRequests (%d); at least %d",
			e.Replicas, e.WorkerProcesses, have, e.ConcurrentRequests, 2*((e.ConcurrentRequests+workers-1)/workers)))
	}
}

func validateEntry(s *config.Settings, v *validator) {
	e := s.Edge
	switch e.Entry {
	case config.EntryIngress:
		if !config.DNSSubdomain.MatchString(e.Ingress.ClassName) {
			v.fail("edge.ingress.className", quote(e.Ingress.ClassName), "must name the cluster's IngressClass (a DNS subdomain name)")
		}
	case config.EntryGateway:
		if !config.DNSSubdomain.MatchString(e.Gateway.ClassName) {
			v.fail("edge.gateway.className", quote(e.Gateway.ClassName), "must name the cluster's GatewayClass (a DNS subdomain name)")
		}
		v.oneOf("edge.gateway.implementation", e.Gateway.Implementation, []string{config.EnvoyGateway, config.NginxGatewayFabric})
	}
}

func validateEdgeTLS(s *config.Settings, v *validator) {
	e := s.Edge
	if !e.TLSOn() {
		return
	}
	t, is := e.TLS, e.TLS.Issuer
	if !config.DNSSubdomain.MatchString(t.SecretName) {
		v.fail("edge.tls.secretName", quote(t.SecretName), "must be a Secret name (a DNS subdomain name)")
	}
	v.oneOf("edge.tls.issuer.kind", is.Kind, []string{"Issuer", "ClusterIssuer"})
	if !config.DNSSubdomain.MatchString(is.Name) {
		v.fail("edge.tls.issuer.name", quote(is.Name), "must name a cert-manager Issuer or ClusterIssuer")
	}
	switch is.Create {
	case "":
	case config.CreateSelfSigned, config.CreateACME:
		if is.Kind == "ClusterIssuer" {
			v.fail("edge.tls.issuer.create", quote(is.Create), "needs edge.tls.issuer.kind Issuer: the program creates namespaced issuers only; name an existing ClusterIssuer with an empty create")
		}
	default:
		v.fail("edge.tls.issuer.create", quote(is.Create), "must be empty (use an existing issuer), selfSigned or acme")
	}
	if is.Create != config.CreateACME {
		return
	}
	if u, err := url.Parse(is.ACMEServer); err != nil || u.Scheme != "https" || u.Host == "" {
		v.fail("edge.tls.issuer.acmeServer", quote(is.ACMEServer), "must be the https URL of an ACME directory, such as https://acme-v02.api.letsencrypt.org/directory")
	}
	if is.ACMEEmail != "" && !strings.Contains(is.ACMEEmail, "@") {
		v.fail("edge.tls.issuer.acmeEmail", quote(is.ACMEEmail), "must be an email address, or empty")
	}
}

// validateInternalTLS checks the issuer of the servers' certificates, when one is named.
func validateInternalTLS(s *config.Settings, v *validator) {
	t := s.TLS
	if !t.Internal {
		if s.Environment == config.Prod {
			// A floor, like security's: prod keeps every connection between services encrypted.
			v.fail("tls.internal", "false", "must be true in prod: every connection between the services is encrypted and verified there "+
				"(the seed); false is for dev and for staging")
		}
		return
	}
	v.oneOf("tls.issuer.kind", t.Issuer.Kind, []string{"Issuer", "ClusterIssuer"})
	if t.Issuer.Name != "" && !config.DNSSubdomain.MatchString(t.Issuer.Name) {
		v.fail("tls.issuer.name", quote(t.Issuer.Name), "must name an existing cert-manager Issuer or ClusterIssuer, or be empty (the program's own CA)")
	}
}
