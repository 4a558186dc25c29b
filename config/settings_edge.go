package config

import (
	"github.com/pynomaly/pynomaly-platform/internal/sizing"
)

// Edge is the seed's data-science-nginx.yaml and its Ingress: Nginx in front of the API (per
// client rate limit, compression, security headers) and the way traffic reaches it.
type Edge struct {
	// Replicas are the Nginx pods.
	Replicas int `json:"replicas"`
	// Resources are each Nginx pod's requests and limits; /tmp buffers request bodies and slow
	// responses.
	Resources sizing.Resources `json:"resources"`
	// Entry is how traffic reaches Nginx: an Ingress, a Gateway API Gateway, or nothing beyond
	// the ClusterIP Service.
	Entry EntryMode `json:"entry"`
	// Hosts are the public host names: the Ingress rules or HTTPRoute hostnames, and the
	// certificate's names.
	Hosts     []string  `json:"hosts"`
	RateLimit RateLimit `json:"rateLimit"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For Nginx believes: the entry point's pods
	// (the cluster's pod CIDR, or the nodes' when the load balancer forwards through them),
	// required with an entry point. A request from any other peer is counted against the peer's
	// own address, whatever it sends. None by default: nothing is believed.
	TrustedProxies []string `json:"trustedProxies"`
	// ClientMaxBodySize is the largest request body Nginx accepts, an nginx size such as 100m.
	ClientMaxBodySize string        `json:"clientMaxBodySize"`
	Timeouts          ProxyTimeouts `json:"timeouts"`
	// ConcurrentRequests is how many requests the tier holds at once (the seed: 10,000 in prod);
	// Replicas x WorkerProcesses x WorkerConnections must hold it (see Capacity).
	ConcurrentRequests int `json:"concurrentRequests"`
	// WorkerProcesses is per pod; it should not exceed the CPU limit's cores.
	WorkerProcesses int `json:"workerProcesses"`
	// WorkerConnections is each worker process's connections; a proxied request takes two.
	WorkerConnections int         `json:"workerConnections"`
	Ingress           EdgeIngress `json:"ingress"`
	Gateway           EdgeGateway `json:"gateway"`
	TLS               EdgeTLS     `json:"tls"`
	DNS               EdgeDNS     `json:"dns"`
}

// EntryMode is how traffic from outside the cluster reaches the edge.
type EntryMode string

// Entry modes. The community ingress-nginx controller was retired in March 2026; Gateway is what
// a new cluster should use.
const (
	EntryIngress EntryMode = "ingress"
	EntryGateway EntryMode = "gateway"
	EntryNone    EntryMode = "none"
)

// The Gateway API implementations whose per-client rate limit policy the program writes.
const (
	EnvoyGateway       = "envoy-gateway"
	NginxGatewayFabric = "nginx-gateway-fabric"
)

// RateLimit is the budget of one client address: RequestsPerMinute sustained, and Burst more
// requests at once; beyond that a request gets 429.
type RateLimit struct {
	// RequestsPerMinute is one client address's sustained budget.
	RequestsPerMinute int `json:"requestsPerMinute"`
	// Burst is how many requests beyond it a client may send at once before it gets 429.
	Burst int `json:"burst"`
}

// ProxyTimeouts bound how long Nginx waits for the API: to connect, between two reads of the
// response, between two writes of the request.
type ProxyTimeouts struct {
	// ConnectSeconds bounds connecting to the API.
	ConnectSeconds int `json:"connectSeconds"`
	// ReadSeconds bounds the wait between two reads of the API's response.
	ReadSeconds int `json:"readSeconds"`
	// SendSeconds bounds the wait between two writes of the request to the API.
	SendSeconds int `json:"sendSeconds"`
}

// EdgeIngress is the Ingress of the ingress entry mode.
type EdgeIngress struct {
	// ClassName is the IngressClass of the Ingress (edge.entry ingress).
	ClassName string `json:"className"`
}

// EdgeGateway is the Gateway of the gateway entry mode, and the implementation that runs it
// (its policy carries the per-client limit: the standard Gateway API has none).
type EdgeGateway struct {
	// ClassName is the GatewayClass of the Gateway (edge.entry gateway).
	ClassName string `json:"className"`
	// Implementation runs the Gateway: envoy-gateway or nginx-gateway-fabric; its policy carries the
	// per-client rate limit.
	Implementation string `json:"implementation"`
	// LoadBalancerAnnotations are the Gateway's infrastructure annotations, which the
	// implementation puts on the load balancer Service it creates; empty: kubernetes.cloud's.
	LoadBalancerAnnotations map[string]string `json:"loadBalancerAnnotations"`
}

// EdgeDNS has an external-dns installation publish the hosts: the entry point's objects carry
// its annotations, and it points the names at the entry point's load balancer.
type EdgeDNS struct {
	// ExternalDNS annotates the Ingress or HTTPRoute for external-dns (its hostname and TTL).
	ExternalDNS bool `json:"externalDns"`
	// TTLSeconds is the records' TTL: short enough that a switch to another cluster (disaster
	// recovery) takes effect within minutes.
	TTLSeconds int `json:"ttlSeconds"`
}

// EdgeTLS is the certificate of the public hosts, issued by cert-manager.
type EdgeTLS struct {
	// Enabled terminates TLS at the entry point with a cert-manager certificate of the hosts.
	Enabled bool `json:"enabled"`
	// SecretName is the Secret cert-manager writes the certificate and key to.
	SecretName string    `json:"secretName"`
	Issuer     TLSIssuer `json:"issuer"`
}

// TLSIssuer names the cert-manager Issuer or ClusterIssuer of the certificate. With Create the
// program creates it, as a namespaced Issuer: selfSigned (dev), or acme with HTTP-01 answered
// through the entry point.
type TLSIssuer struct {
	// Kind is Issuer or ClusterIssuer.
	Kind string `json:"kind"`
	// Name is the issuer's name.
	Name string `json:"name"`
	// Create has the program create the issuer: selfSigned, or acme (HTTP-01 through the entry point);
	// empty: an existing issuer.
	Create string `json:"create"`
	// ACMEServer is the ACME directory of an acme issuer (staging: Let's Encrypt's staging directory).
	ACMEServer string `json:"acmeServer"`
	// ACMEEmail is the account's contact of an acme issuer.
	ACMEEmail string `json:"acmeEmail"`
}

// InternalTLS is verified TLS on every connection between the services: each server presents
// a cert-manager certificate, each client checks it against the internal CA.
type InternalTLS struct {
	// Internal: every server presents a certificate of the internal CA and every client verifies it.
	Internal bool `json:"internal"`
	// Issuer signs the servers' certificates; an empty Name means the program's own CA (a
	// self-signed root and a namespaced CA Issuer).
	Issuer IssuerRef `json:"issuer"`
}

// IssuerRef names an existing cert-manager Issuer or ClusterIssuer.
type IssuerRef struct {
	// Kind is Issuer or ClusterIssuer.
	Kind string `json:"kind"`
	// Name is an existing cert-manager issuer to sign with; empty: the program's own CA.
	Name string `json:"name"`
}

// Issuers the program can create.
const (
	CreateSelfSigned = "selfSigned"
	CreateACME       = "acme"
)

// Exposed says whether the edge has an entry point from outside the cluster.
func (e Edge) Exposed() bool { return e.Entry == EntryIngress || e.Entry == EntryGateway }

// TLSOn says whether the entry point terminates TLS with a cert-manager certificate.
func (e Edge) TLSOn() bool { return e.Exposed() && e.TLS.Enabled }

// GrafanaURL is where people reach Grafana through the edge (grafana.host): https://<host>/, or
// http:// when the entry point has no TLS; empty when Grafana is not exposed.
func (s *Settings) GrafanaURL() string {
	if s.Grafana.Host == "" || !s.Edge.Exposed() {
		return ""
	}
	scheme := "http"
	if s.Edge.TLSOn() {
		scheme = "https"
	}
	return scheme + "://" + s.Grafana.Host + "/"
}

// Capacity is how many requests the edge holds at once: every worker of every pod, each
// request taking two of a worker's connections (the client's and the one to the API).
func (e Edge) Capacity() int { return e.Replicas * e.WorkerProcesses * (e.WorkerConnections / 2) }

// edge is the seed's Nginx: 100 requests a minute per client address with a burst of 20, and
// no entry point until a stack names its hosts (entry none: the ClusterIP Service the seed
// port-forwards to). No proxy is trusted until a stack names its entry point's.
func edge(replicas int, r sizing.Resources, concurrent, workers, connections int, issuer TLSIssuer) Edge {
	return Edge{
		Replicas: replicas, Resources: r, Entry: EntryNone,
		RateLimit:          RateLimit{RequestsPerMinute: 100, Burst: 20},
		TrustedProxies:     []string{},
		ClientMaxBodySize:  "100m",
		Timeouts:           ProxyTimeouts{ConnectSeconds: 5, ReadSeconds: 60, SendSeconds: 60},
		ConcurrentRequests: concurrent, WorkerProcesses: workers, WorkerConnections: connections,
		Ingress: EdgeIngress{ClassName: "nginx"},
		Gateway: EdgeGateway{ClassName: "eg", Implementation: EnvoyGateway},
		TLS:     EdgeTLS{Enabled: true, SecretName: "pynomaly-tls", Issuer: issuer},
		DNS:     EdgeDNS{TTLSeconds: 60},
	}
}

// privateRanges are the addresses a cluster's pods, nodes and API server usually have.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}

// The issuers the profiles create: a self-signed one in dev, Let's Encrypt's staging directory
// in staging (untrusted certificates, generous limits), its production directory in prod.
var selfSignedIssuer = TLSIssuer{Kind: "Issuer", Name: "pynomaly-selfsigned", Create: CreateSelfSigned}

func acmeIssuer(name, server string) TLSIssuer {
	return TLSIssuer{Kind: "Issuer", Name: name, Create: CreateACME, ACMEServer: server}
}

// edgeDefaults are the edge's per environment. prod: the seed's three Nginx pods and 10,000
// concurrent requests: 3 x 2 workers x 8192 / 2 = 24,576, and still 16,384 with a pod drained.
func edgeDefaults(env Environment) Edge {
	return byEnv(env,
		edge(1, resDisk("50m", "64Mi", "250m", "128Mi", disk{"128Mi", "1Gi"}), 200, 1, 1024, selfSignedIssuer),
		edge(2, resDisk("100m", "128Mi", "500m", "256Mi", disk{"256Mi", "2Gi"}), 1000, 1, 2048,
			acmeIssuer("pynomaly-letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory")),
		edge(3, resDisk("500m", "512Mi", "2", "1Gi", disk{"1Gi", "4Gi"}), 10000, 2, 8192,
			acmeIssuer("pynomaly-letsencrypt", "https://acme-v02.api.letsencrypt.org/directory")))
}

// internalTLSDefaults: verified TLS between the services from staging on; dev runs without
// cert-manager unless a stack turns it on.
func internalTLSDefaults(env Environment) InternalTLS {
	return InternalTLS{Internal: env != Dev, Issuer: IssuerRef{Kind: "Issuer"}}
}
