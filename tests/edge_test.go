package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/config/load"
	"github.com/pynomaly/pynomaly-platform/edge"
)

// The edge tier: Nginx with the seed's per-client limit in front of the API, and the entry point
// from outside in each mode (ingress, gateway, none) with its cert-manager certificate.

const (
	ingressType     = "kubernetes:networking.k8s.io/v1:Ingress"
	gatewayType     = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
	httpRouteType   = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
	certificateType = "kubernetes:cert-manager.io/v1:Certificate"
	issuerType      = "kubernetes:cert-manager.io/v1:Issuer"
	envoyPolicyType = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
	ngfLimitType    = "kubernetes:gateway.nginx.org/v1alpha1:RateLimitPolicy"
	ngfUpstreamType = "kubernetes:gateway.nginx.org/v1alpha1:UpstreamSettingsPolicy"
)

// entryTypes are the custom and Ingress objects only an entry point has.
var entryTypes = []string{ingressType, gatewayType, httpRouteType, certificateType, issuerType, envoyPolicyType, ngfLimitType, ngfUpstreamType}

// edgeOfType are the edge tier's resources of typ (the internal CA's certificates are the
// InternalTLS component's).
func edgeOfType(t *testing.T, st *Stack, typ string) []*Resource {
	t.Helper()
	var out []*Resource
	for _, r := range st.ChildrenOf(st.Component(t, "Edge")) {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// exposed is a stack configuration with an entry point and two hosts.
func exposed(entry string, extra string) cfg {
	return cfg{"edge": fmt.Sprintf(`{"entry": %q, "trustedProxies": ["10.244.0.0/16"], "hosts": ["api.pynomaly.example", "pynomaly.example"]%s}`, entry, extra)}
}

func nginxConf(t *testing.T, st *Stack) string {
	t.Helper()
	return st.One(t, configMapType, "pynomaly-nginx").StringMap(t, "data")["nginx.conf"]
}

// edgeProfile is what each profile sizes the edge to.
type edgeProfile struct {
	replicas, workers, connections, keepalive int
	cpuLimit                                  string
}

// withoutEntry is a stack's edge with no entry point (the profiles' default), and so Grafana
// inside the cluster.
var withoutEntry = cfg{"edge": `{"entry": "none", "hosts": [], "trustedProxies": [], "dns": {"externalDns": false}}`, "grafana": internalGrafana}

// internalGrafana keeps Grafana inside the cluster: what a stack whose file exposes it (prod's
// grafana.host) sets to run without an entry point, or in monitoringMode operator.
const internalGrafana = `{"host": ""}`

func TestEdgeTier(t *testing.T) {
	want := map[string]edgeProfile{
		"dev":     {1, 1, 1024, 200, "250m"},
		"staging": {2, 1, 2048, 500, "500m"},
		"prod":    {3, 2, 8192, 1667, "2"},
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			// The profile's edge, without the entry point the committed prod names.
			st := deploy(t, env, withoutEntry)
			d := st.One(t, deploymentType, "pynomaly-nginx")
			checkNginxDeployment(t, d, want[env])
			assert.Equal(t, 1, st.One(t, pdbType, "pynomaly-nginx").Int(t, "spec.maxUnavailable"))

			svc := st.One(t, serviceType, "pynomaly-nginx-service")
			assert.Equal(t, map[string]string{"app": "pynomaly", "component": "nginx"}, svc.StringMap(t, "spec.selector"))
			assert.Equal(t, 80, svc.Int(t, "spec.ports.0.port"), "the seed's port-forward svc/pynomaly-nginx-service 8080:80")
			assert.Equal(t, "http", svc.Str(t, "spec.ports.0.targetPort"))
			assert.Equal(t, "ClientIP", svc.Str(t, "spec.sessionAffinity"), "a client stays on one replica's budget")

			checkNginxConf(t, nginxConf(t, st), want[env])
			for _, typ := range entryTypes {
				assert.Empty(t, edgeOfType(t, st, typ), "entry none declares no %s", typ)
			}
			cm := st.One(t, configMapType, "pynomaly-nginx")
			assert.True(t, st.DependsOn(cm, st.One(t, serviceType, "pynomaly-api-service")), "nginx resolves the API Service at start")
			assert.True(t, st.DependsOn(d, cm))
			out := st.Outputs["edge"].ObjectValue()
			assert.Equal(t, "pynomaly-nginx-service", out["serviceName"].StringValue())
			assert.Equal(t, "http://pynomaly-nginx-service.pynomaly-data-science.svc:80", out["url"].StringValue())
			assert.Equal(t, "none", out["entry"].StringValue())
			assert.Equal(t, "", out["tlsSecretName"].StringValue())
		})
	}
}

// checkNginxDeployment: the unprivileged image on a non-root port, a read-only root with /tmp,
// probes on /health, a graceful stop, zone spread, and the exporter on stub_status.
func checkNginxDeployment(t *testing.T, d *Resource, w edgeProfile) {
	t.Helper()
	assert.Equal(t, w.replicas, d.Int(t, "spec.replicas"), "the seed's three in prod")
	assert.Equal(t, 10101, d.Int(t, podSpec+".securityContext.runAsUser"))
	c := d.Container(t, podSpec, "nginx")
	assert.Equal(t, "nginxinc/nginx-unprivileged:1.27.5-alpine", d.Str(t, c+".image"))
	assert.Equal(t, 8080, d.Int(t, c+".ports.0.containerPort"))
	assert.True(t, d.Bool(c+".securityContext.readOnlyRootFilesystem"), "read-only root; /tmp is an emptyDir")
	assert.Equal(t, "/tmp", d.Str(t, c+".volumeMounts.1.mountPath"))
	assert.True(t, d.Has(podSpec+".volumes.1.emptyDir"))
	assert.Equal(t, "/health", d.Str(t, c+".readinessProbe.httpGet.path"))
	assert.Equal(t, 8080, d.Int(t, c+".livenessProbe.tcpSocket.port"), "alive while it accepts connections")
	assert.Equal(t, w.cpuLimit, d.Str(t, c+".resources.limits.cpu"))
	assert.Equal(t, 5, d.Int(t, c+".lifecycle.preStop.sleep.seconds"))
	assert.Equal(t, 75, d.Int(t, podSpec+".terminationGracePeriodSeconds"), "the delay, the read timeout, a margin")
	assert.Equal(t, "topology.kubernetes.io/zone", d.Str(t, podSpec+".topologySpreadConstraints.0.topologyKey"))
	x := d.Container(t, podSpec, "exporter")
	assert.Equal(t, "nginx/nginx-prometheus-exporter:1.4.2", d.Str(t, x+".image"))
	assert.Contains(t, d.Str(t, x+".command.1"), "http://127.0.0.1:8081/stub_status")
	assert.Equal(t, "9113", d.StringMap(t, "spec.template.metadata.annotations")["prometheus.io/port"])
}

// checkNginxConf: the seed's limit, the upstream, the sizes derived from the capacity.
func checkNginxConf(t *testing.T, conf string, w edgeProfile) {
	t.Helper()
	for _, line := range []string{
		"limit_req_zone $binary_remote_addr zone=perclient:10m rate=100r/m;",
		"limit_req zone=perclient burst=20 nodelay;",
		"limit_req_status 429;",
		"server pynomaly-api-service.pynomaly-data-science.svc:8000;",
		fmt.Sprintf("worker_processes %d;", w.workers),
		fmt.Sprintf("worker_connections %d;", w.connections),
		fmt.Sprintf("worker_rlimit_nofile %d;", 2*w.connections),
		fmt.Sprintf("keepalive %d;", w.keepalive),
		"client_max_body_size 100m;", "proxy_read_timeout 60s;", "gzip on;",
		`add_header X-Content-Type-Options "nosniff" always;`,
	} {
		assert.Contains(t, conf, line)
	}
	assert.NotContains(t, conf, "Strict-Transport-Security", "no TLS without an entry point")
	// No entry point, no trusted proxy: the peer is the client, whatever it forwards.
	assert.NotContains(t, conf, "set_real_ip_from")
	assert.NotContains(t, conf, "real_ip_header")
}

// The nginx workload declares its exporter's port as its metrics, for the monitoring tier.
func TestEdgeWorkloadDeclaresItsMetrics(t *testing.T) {
	st := deploy(t, "prod", nil)
	for _, w := range st.Platform.Workloads() {
		if w.Name == "pynomaly-nginx" {
			require.NotNil(t, w.Metrics)
			assert.Equal(t, edge.NginxExporterPort, w.Metrics.Port)
			assert.Equal(t, map[string]int{"http": 8080, "metrics": 9113}, w.Ports)
			assert.Equal(t, 3, w.Footprint.Pods)
			return
		}
	}
	t.Fatal("the nginx Deployment is not a declared workload")
}

// The issuers the profiles create, and where their HTTP-01 challenges are answered.
var wantIssuer = map[string]struct{ name, server string }{
	"dev":     {"pynomaly-selfsigned", ""},
	"staging": {"pynomaly-letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"},
	"prod":    {"pynomaly-letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"},
}

func TestEdgeIngressMode(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, exposed("ingress", ""))
			ing := st.One(t, ingressType, "pynomaly-ingress")
			assert.Equal(t, "nginx", ing.Str(t, "spec.ingressClassName"))
			for i, host := range []string{"api.pynomaly.example", "pynomaly.example"} {
				assert.Equal(t, host, ing.Str(t, fmt.Sprintf("spec.rules.%d.host", i)))
				assert.Equal(t, "pynomaly-nginx-service", ing.Str(t, fmt.Sprintf("spec.rules.%d.http.paths.0.backend.service.name", i)))
				assert.Equal(t, host, ing.Str(t, fmt.Sprintf("spec.tls.0.hosts.%d", i)))
			}
			assert.Equal(t, "pynomaly-tls", ing.Str(t, "spec.tls.0.secretName"))
			a := ing.StringMap(t, "metadata.annotations")
			assert.Equal(t, "true", a["pulumi.com/skipAwait"], "no controller address is awaited")
			assert.Equal(t, "100", a["nginx.ingress.kubernetes.io/limit-rpm"], "the controller-level limit of class nginx")
			assert.Equal(t, "$remote_addr", a["nginx.ingress.kubernetes.io/upstream-hash-by"])
			assert.Equal(t, "100m", a["nginx.ingress.kubernetes.io/proxy-body-size"])
			assert.NotContains(t, a, "cert-manager.io/issuer", "the Certificate is explicit, not made by ingress-shim")

			cert, issuer := checkCertificate(t, st, env)
			if env != "dev" {
				assert.Equal(t, "nginx", issuer.Str(t, "spec.acme.solvers.0.http01.ingress.ingressClassName"))
			}
			assert.True(t, st.DependsOn(cert, issuer), "the certificate waits for its issuer")
			assert.Contains(t, nginxConf(t, st), `add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;`)
			for _, typ := range []string{gatewayType, httpRouteType, envoyPolicyType} {
				assert.Empty(t, st.OfType(typ), typ)
			}
			out := st.Outputs["edge"].ObjectValue()
			assert.Equal(t, "pynomaly-tls", out["tlsSecretName"].StringValue())
			assert.Equal(t, "https://api.pynomaly.example", out["url"].StringValue())
			assert.Len(t, out["hosts"].ArrayValue(), 2)
		})
	}
}

// checkCertificate checks the Certificate of every host and the issuer the profile creates.
func checkCertificate(t *testing.T, st *Stack, env string) (cert, issuer *Resource) {
	t.Helper()
	cert = st.One(t, certificateType, "pynomaly-tls")
	assert.Equal(t, "pynomaly-tls", cert.Str(t, "spec.secretName"))
	assert.Equal(t, "api.pynomaly.example", cert.Str(t, "spec.dnsNames.0"))
	assert.Equal(t, "pynomaly.example", cert.Str(t, "spec.dnsNames.1"))
	assert.Equal(t, "Issuer", cert.Str(t, "spec.issuerRef.kind"))
	assert.Equal(t, wantIssuer[env].name, cert.Str(t, "spec.issuerRef.name"))
	issuer = st.One(t, issuerType, wantIssuer[env].name)
	if env == "dev" {
		assert.True(t, issuer.Has("spec.selfSigned"))
	} else {
		assert.Equal(t, wantIssuer[env].server, issuer.Str(t, "spec.acme.server"))
	}
	return cert, issuer
}

func TestEdgeGatewayMode(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			st := deploy(t, env, exposed("gateway", ""))
			gw := st.One(t, gatewayType, "pynomaly-gateway")
			assert.Equal(t, "eg", gw.Str(t, "spec.gatewayClassName"))
			assert.Equal(t, "http", gw.Str(t, "spec.listeners.0.name"))
			assert.Equal(t, "HTTPS", gw.Str(t, "spec.listeners.1.protocol"))
			assert.Equal(t, 443, gw.Int(t, "spec.listeners.1.port"))
			assert.Equal(t, "pynomaly-tls", gw.Str(t, "spec.listeners.1.tls.certificateRefs.0.name"))

			route := st.One(t, httpRouteType, "pynomaly-nginx")
			assert.Equal(t, "pynomaly-gateway", route.Str(t, "spec.parentRefs.0.name"))
			assert.Equal(t, "https", route.Str(t, "spec.parentRefs.0.sectionName"))
			assert.Equal(t, "api.pynomaly.example", route.Str(t, "spec.hostnames.0"))
			assert.Equal(t, "pynomaly-nginx-service", route.Str(t, "spec.rules.0.backendRefs.0.name"))
			assert.Equal(t, 80, route.Int(t, "spec.rules.0.backendRefs.0.port"))
			assert.Equal(t, "125s", route.Str(t, "spec.rules.0.timeouts.request"), "past nginx's own timeouts")
			redirect := st.One(t, httpRouteType, "pynomaly-https-redirect")
			assert.Equal(t, "http", redirect.Str(t, "spec.parentRefs.0.sectionName"))
			assert.Equal(t, "https", redirect.Str(t, "spec.rules.0.filters.0.requestRedirect.scheme"))

			p := st.One(t, envoyPolicyType, "pynomaly-nginx")
			assert.Equal(t, "HTTPRoute", p.Str(t, "spec.targetRefs.0.kind"))
			assert.Equal(t, "pynomaly-nginx", p.Str(t, "spec.targetRefs.0.name"))
			for i, cidr := range []string{"0.0.0.0/0", "::/0"} {
				rule := fmt.Sprintf("spec.rateLimit.local.rules.%d.", i)
				assert.Equal(t, "Distinct", p.Str(t, rule+"clientSelectors.0.sourceCIDR.type"), "a budget per client address")
				assert.Equal(t, cidr, p.Str(t, rule+"clientSelectors.0.sourceCIDR.value"))
				assert.Equal(t, 100, p.Int(t, rule+"limit.requests"))
				assert.Equal(t, "Minute", p.Str(t, rule+"limit.unit"))
			}
			assert.Equal(t, "ConsistentHash", p.Str(t, "spec.loadBalancer.type"))
			assert.Equal(t, "SourceIP", p.Str(t, "spec.loadBalancer.consistentHash.type"), "a client stays on one nginx replica")

			_, issuer := checkCertificate(t, st, env)
			if env != "dev" {
				ref := "spec.acme.solvers.0.http01.gatewayHTTPRoute.parentRefs.0."
				assert.Equal(t, "pynomaly-gateway", issuer.Str(t, ref+"name"))
				assert.Equal(t, "http", issuer.Str(t, ref+"sectionName"), "HTTP-01 on the plain listener")
			}
			assert.Empty(t, st.OfType(ingressType))
			assert.Contains(t, nginxConf(t, st), "Strict-Transport-Security")
		})
	}
}

func TestEdgeGatewayModeWithNginxGatewayFabric(t *testing.T) {
	st := deploy(t, "prod", exposed("gateway", `, "gateway": {"className": "nginx", "implementation": "nginx-gateway-fabric"}, "rateLimit": {"burst": 30}`))
	assert.Equal(t, "nginx", st.One(t, gatewayType, "pynomaly-gateway").Str(t, "spec.gatewayClassName"))
	assert.Empty(t, st.OfType(envoyPolicyType))
	rl := st.One(t, ngfLimitType, "pynomaly-nginx")
	assert.Equal(t, "pynomaly-nginx", rl.Str(t, "spec.targetRefs.0.name"))
	rule := "spec.rateLimit.local.rules.0."
	assert.Equal(t, "$binary_remote_addr", rl.Str(t, rule+"key"))
	assert.Equal(t, "100r/m", rl.Str(t, rule+"rate"))
	assert.Equal(t, 30, rl.Int(t, rule+"burst"))
	assert.Equal(t, 429, rl.Int(t, rule+"rejectCode"))
	up := st.One(t, ngfUpstreamType, "pynomaly-nginx")
	assert.Equal(t, "Service", up.Str(t, "spec.targetRefs.0.kind"))
	assert.Equal(t, "pynomaly-nginx-service", up.Str(t, "spec.targetRefs.0.name"))
	assert.Equal(t, "hash consistent", up.Str(t, "spec.loadBalancingMethod"))
	assert.Contains(t, nginxConf(t, st), "burst=30 nodelay;")
}

// Without TLS there is no certificate, no HTTPS listener and no HSTS; with an existing
// ClusterIssuer nothing is created and the certificate names it.
func TestEdgeTLSWiring(t *testing.T) {
	for _, entry := range []string{"ingress", "gateway"} {
		st := deploy(t, "staging", exposed(entry, `, "tls": {"enabled": false}`))
		assert.Empty(t, edgeOfType(t, st, certificateType), entry)
		assert.Empty(t, edgeOfType(t, st, issuerType), entry)
		assert.NotContains(t, nginxConf(t, st), "Strict-Transport-Security", entry)
		out := st.Outputs["edge"].ObjectValue()
		assert.Equal(t, "", out["tlsSecretName"].StringValue(), entry)
		assert.Equal(t, "http://api.pynomaly.example", out["url"].StringValue(), entry)
		if entry == "ingress" {
			assert.False(t, st.One(t, ingressType, "pynomaly-ingress").Has("spec.tls"))
		} else {
			assert.False(t, st.One(t, gatewayType, "pynomaly-gateway").Has("spec.listeners.1"), "only the HTTP listener")
			assert.Equal(t, "http", st.One(t, httpRouteType, "pynomaly-nginx").Str(t, "spec.parentRefs.0.sectionName"))
			assert.Empty(t, st.OfType(httpRouteType)[1:], "no redirect without https")
		}

		st = deploy(t, "prod", exposed(entry, `, "tls": {"secretName": "api-cert", "issuer": {"kind": "ClusterIssuer", "name": "letsencrypt-prod", "create": ""}}`))
		assert.Empty(t, edgeOfType(t, st, issuerType), "an existing issuer is not created")
		cert := st.One(t, certificateType, "pynomaly-tls")
		assert.Equal(t, "ClusterIssuer", cert.Str(t, "spec.issuerRef.kind"))
		assert.Equal(t, "letsencrypt-prod", cert.Str(t, "spec.issuerRef.name"))
		assert.Equal(t, "api-cert", cert.Str(t, "spec.secretName"))
		assert.Equal(t, "api-cert", st.Outputs["edge"].ObjectValue()["tlsSecretName"].StringValue())
	}
}

// Every object of the edge, the custom resources too, is in the namespace, labelled, and goes
// through the platform's provider.
func TestEdgeObjectsAreLabelledAndNamespaced(t *testing.T) {
	st := deploy(t, "prod", exposed("gateway", ""))
	n := 0
	for _, typ := range entryTypes {
		for _, r := range edgeOfType(t, st, typ) {
			assert.Equal(t, "pynomaly-data-science", r.Str(t, "metadata.namespace"), "%s %s", typ, r.Name)
			assert.Equal(t, "nginx", r.StringMap(t, "metadata.labels")["component"], "%s %s", typ, r.Name)
			assert.Equal(t, st.OfType(providerType)[0].URN()+"::kubernetes-id", r.Provider, "%s %s", typ, r.Name)
			n++
		}
	}
	assert.Equal(t, 7, n, "gateway, three routes (the API's, Grafana's, the redirect), policy, certificate, issuer and nothing else")
}

// withGrafana is an entry point of mode entry with Grafana at its own host.
func withGrafana(entry, extra string) cfg {
	c := exposed(entry, extra)
	c["grafana"] = `{"host": "grafana.pynomaly.example"}`
	return c
}

// Grafana at its own host (grafana.host), through an Ingress of its own: to Nginx like the API's
// hosts, with the certificate's TLS, and without the controller's per-client limit, which holds
// for every rule of the Ingress carrying it. The API's Ingress does not name Grafana's host.
func TestEdgeExposesGrafanaThroughAnIngress(t *testing.T) {
	st := deploy(t, "staging", withGrafana("ingress", ""))
	g := st.One(t, ingressType, "pynomaly-grafana")
	assert.Equal(t, "nginx", g.Str(t, "spec.ingressClassName"))
	assert.Equal(t, "grafana.pynomaly.example", g.Str(t, "spec.rules.0.host"))
	assert.False(t, g.Has("spec.rules.1"))
	assert.Equal(t, "pynomaly-nginx-service", g.Str(t, "spec.rules.0.http.paths.0.backend.service.name"))
	assert.Equal(t, "grafana.pynomaly.example", g.Str(t, "spec.tls.0.hosts.0"))
	assert.Equal(t, "pynomaly-tls", g.Str(t, "spec.tls.0.secretName"))
	a := g.StringMap(t, "metadata.annotations")
	assert.Equal(t, "true", a["pulumi.com/skipAwait"])
	assert.Equal(t, "100m", a["nginx.ingress.kubernetes.io/proxy-body-size"])
	for _, k := range []string{"limit-rpm", "limit-burst-multiplier", "upstream-hash-by"} {
		assert.NotContains(t, a, "nginx.ingress.kubernetes.io/"+k, "Grafana's host is not limited by the controller")
	}
	api := st.One(t, ingressType, "pynomaly-ingress")
	assert.Equal(t, "100", api.StringMap(t, "metadata.annotations")["nginx.ingress.kubernetes.io/limit-rpm"], "the API's still is")
	assert.NotContains(t, sprintAll(api.Inputs), "grafana", "the API's Ingress does not name Grafana's host")
	checkGrafanaCertificateAndNginx(t, st, "https://grafana.pynomaly.example/")
}

// Through a Gateway: an HTTPRoute of its own to Nginx on the HTTPS listener, which neither the
// per-client limit nor the hashing policy names; the redirect to https covers it too.
func TestEdgeExposesGrafanaThroughAGateway(t *testing.T) {
	for _, impl := range []string{"envoy-gateway", "nginx-gateway-fabric"} {
		t.Run(impl, func(t *testing.T) {
			st := deploy(t, "prod", withGrafana("gateway", fmt.Sprintf(`, "gateway": {"implementation": %q}`, impl)))
			r := st.One(t, httpRouteType, "pynomaly-grafana")
			assert.Equal(t, []string{"grafana.pynomaly.example"}, stringList(t, r, "spec.hostnames"))
			assert.Equal(t, "pynomaly-gateway", r.Str(t, "spec.parentRefs.0.name"))
			assert.Equal(t, "https", r.Str(t, "spec.parentRefs.0.sectionName"))
			assert.Equal(t, "pynomaly-nginx-service", r.Str(t, "spec.rules.0.backendRefs.0.name"))
			assert.Equal(t, 80, r.Int(t, "spec.rules.0.backendRefs.0.port"))
			assert.Equal(t, "125s", r.Str(t, "spec.rules.0.timeouts.request"))
			assert.Equal(t, []string{"api.pynomaly.example", "pynomaly.example"}, stringList(t, st.One(t, httpRouteType, "pynomaly-nginx"), "spec.hostnames"))
			assert.Equal(t, []string{"api.pynomaly.example", "pynomaly.example", "grafana.pynomaly.example"},
				stringList(t, st.One(t, httpRouteType, "pynomaly-https-redirect"), "spec.hostnames"))
			for _, typ := range []string{envoyPolicyType, ngfLimitType} {
				for _, p := range st.OfType(typ) {
					assert.Equal(t, "pynomaly-nginx", p.Str(t, "spec.targetRefs.0.name"), "%s names the API's route", typ)
					assert.False(t, p.Has("spec.targetRefs.1"), "%s names the API's route alone", typ)
				}
			}
			checkGrafanaCertificateAndNginx(t, st, "https://grafana.pynomaly.example/")
		})
	}
}

// checkGrafanaCertificateAndNginx: the certificate names Grafana's host after the API's; Nginx
// serves that host from Grafana's Service without limit_req; Grafana knows its public URL, and
// behind https keeps its session cookie to https.
func checkGrafanaCertificateAndNginx(t *testing.T, st *Stack, url string) {
	t.Helper()
	if cert := edgeOfType(t, st, certificateType); len(cert) > 0 {
		assert.Equal(t, []string{"api.pynomaly.example", "pynomaly.example", "grafana.pynomaly.example"}, stringList(t, cert[0], "spec.dnsNames"))
	}
	conf := nginxConf(t, st)
	_, server, ok := strings.Cut(conf, "server_name grafana.pynomaly.example;")
	require.True(t, ok, "no server for Grafana's host in\n%s", conf)
	server, _, _ = strings.Cut(server, "\n    }\n")
	assert.Contains(t, server, "proxy_pass http://pynomaly_grafana;")
	assert.NotContains(t, server, "limit_req", "Grafana's host is not rate limited")
	assert.Contains(t, conf, "server pynomaly-grafana.pynomaly-data-science.svc:3000;")
	assert.Contains(t, conf, "limit_req zone=perclient burst=20 nodelay;", "the API's limit stays")
	g := st.One(t, deploymentType, "pynomaly-grafana")
	env := g.Env(t, g.Container(t, podSpec, "grafana"))
	assert.Equal(t, url, env["GF_SERVER_ROOT_URL"])
	if strings.HasPrefix(url, "https://") {
		assert.Equal(t, "true", env["GF_SECURITY_COOKIE_SECURE"])
	} else {
		assert.NotContains(t, env, "GF_SECURITY_COOKIE_SECURE")
	}
}

// Without TLS Grafana's URL is http, and the Ingress has no TLS section.
func TestEdgeExposesGrafanaWithoutTLS(t *testing.T) {
	st := deploy(t, "staging", withGrafana("ingress", `, "tls": {"enabled": false}`))
	assert.False(t, st.One(t, ingressType, "pynomaly-grafana").Has("spec.tls"))
	checkGrafanaCertificateAndNginx(t, st, "http://grafana.pynomaly.example/")
}

// Unset (every profile's default), nothing of the edge names Grafana: no object of its own, no
// server in nginx.conf, the certificate of the API's hosts alone, and Grafana without a public URL.
func TestEdgeLeavesGrafanaInsideByDefault(t *testing.T) {
	for _, entry := range []string{"ingress", "gateway"} {
		st := deploy(t, "staging", exposed(entry, ""))
		for _, typ := range []string{ingressType, httpRouteType} {
			for _, r := range st.OfType(typ) {
				assert.NotEqual(t, "pynomaly-grafana", r.Name, entry)
			}
		}
		assert.Equal(t, []string{"api.pynomaly.example", "pynomaly.example"}, stringList(t, st.One(t, certificateType, "pynomaly-tls"), "spec.dnsNames"))
		assert.NotContains(t, nginxConf(t, st), "grafana", entry)
		g := st.One(t, deploymentType, "pynomaly-grafana")
		env := g.Env(t, g.Container(t, podSpec, "grafana"))
		assert.NotContains(t, env, "GF_SERVER_ROOT_URL", entry)
		assert.NotContains(t, env, "GF_SECURITY_COOKIE_SECURE", entry)
	}
}

// The capacity arithmetic: each profile holds its concurrency, prod the seed's 10,000, even with
// a pod drained; nginx.conf gets the sizes derived from it.
func TestEdgeCapacity(t *testing.T) {
	for _, env := range envs {
		s := settings(t, env, nil)
		e := s.Edge
		assert.GreaterOrEqual(t, e.Capacity(), e.ConcurrentRequests, env)
		if env == "prod" {
			assert.Equal(t, 10000, e.ConcurrentRequests)
			drained := e
			drained.Replicas--
			assert.GreaterOrEqual(t, drained.Capacity(), 10000, "prod holds 10,000 with a pod drained")
			assert.Equal(t, 1667, edge.NginxUpstreamKeepalive(e), "10000 / (3 pods x 2 workers), rounded up")
			assert.Equal(t, 16384, edge.NginxOpenFiles(e))
		}
	}
}

func TestEdgeSettingsAreValidated(t *testing.T) {
	cases := []struct {
		name, env string
		edge      string
		want      string
	}{
		{"too few connections for the seed's concurrency", "prod", `{"workerConnections": 2048}`,
			`stack setting pynomaly-platform:edge.workerConnections = 2048: edge.replicas (3) x edge.workerProcesses (2) x edge.workerConnections / 2 (a client and an API connection per request) = 6144 requests at once, fewer than edge.concurrentRequests (10000); at least 3334`},
		{"one pod cannot hold what three did", "prod", `{"replicas": 1}`,
			`stack setting pynomaly-platform:edge.workerConnections = 8192: edge.replicas (1) x edge.workerProcesses (2) x edge.workerConnections / 2 (a client and an API connection per request) = 8192 requests at once, fewer than edge.concurrentRequests (10000); at least 10000`},
		{"an entry point without hosts", "staging", `{"entry": "gateway", "trustedProxies": ["10.244.0.0/16"]}`,
			`stack setting pynomaly-platform:edge.hosts = []: must name at least one host when edge.entry is gateway`},
		{"trusting every peer", "dev", `{"trustedProxies": ["10.0.0.0/8", "::/0"]}`,
			`stack setting pynomaly-platform:edge.trustedProxies[1] = "::/0": must not match every address: name the entry point's pods' addresses`},
		{"trusting every peer in two halves", "prod", `{"trustedProxies": ["0.0.0.0/1", "128.0.0.0/1"]}`,
			`stack setting pynomaly-platform:edge.trustedProxies = ["0.0.0.0/1","128.0.0.0/1"]: must not match every address, as these CIDRs do together (0.0.0.0/0)`},
		{"trusting every IPv6 peer in pieces", "dev", `{"trustedProxies": ["::/2", "4000::/2", "8000::/1", "10.0.0.0/8"]}`,
			`stack setting pynomaly-platform:edge.trustedProxies = ["::/2","4000::/2","8000::/1","10.0.0.0/8"]: must not match every address, as these CIDRs do together (::/0)`},
		// Without them every request comes from the controller's pods: one budget for all clients.
		{"an entry point whose proxies are not named", "prod", `{"entry": "ingress", "hosts": ["api.pynomaly.example"], "trustedProxies": []}`,
			`stack setting pynomaly-platform:edge.trustedProxies = []: must name the entry point's pods' addresses (the Ingress controller's or the Gateway's: ` +
				`the cluster's pod CIDR, or the nodes' when its load balancer forwards through them): an entry point's requests all come from them, ` +
				`and without them every client would share one rate limit budget`},
		{"a proxy that is no CIDR", "dev", `{"trustedProxies": ["10.0.0.1"]}`,
			`stack setting pynomaly-platform:edge.trustedProxies[0] = "10.0.0.1": must be a CIDR`},
		{"a wildcard host with HTTP-01", "prod", `{"entry": "ingress", "trustedProxies": ["10.244.0.0/16"], "hosts": ["*.pynomaly.example"]}`,
			`stack setting pynomaly-platform:edge.hosts[0] = "*.pynomaly.example": must not be a wildcard with edge.tls.issuer.create acme`},
		{"creating a ClusterIssuer", "dev", `{"entry": "ingress", "trustedProxies": ["10.244.0.0/16"], "hosts": ["a.example"], "tls": {"issuer": {"kind": "ClusterIssuer"}}}`,
			`stack setting pynomaly-platform:edge.tls.issuer.create = "selfSigned": needs edge.tls.issuer.kind Issuer`},
		{"an unknown implementation", "dev", `{"entry": "gateway", "trustedProxies": ["10.244.0.0/16"], "hosts": ["a.example"], "gateway": {"implementation": "istio"}}`,
			`stack setting pynomaly-platform:edge.gateway.implementation = "istio": must be one of envoy-gateway, nginx-gateway-fabric`},
		{"a body size nginx cannot read", "dev", `{"clientMaxBodySize": "1 GB"}`,
			`stack setting pynomaly-platform:edge.clientMaxBodySize = "1 GB": must be an nginx size`},
		// prod's stack file exposes Grafana at grafana.pynomaly.io.
		{"Grafana exposed without an entry point", "prod", `{"entry": "none", "dns": {"externalDns": false}}`,
			`stack setting pynomaly-platform:grafana.host = "grafana.pynomaly.io": needs an entry point (edge.entry ingress or gateway)`},
		{"Grafana at the API's host", "prod", `{"hosts": ["api.pynomaly.io", "grafana.pynomaly.io"]}`,
			`stack setting pynomaly-platform:grafana.host = "grafana.pynomaly.io": must differ from every edge.hosts`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := run(tc.env, cfg{"edge": tc.edge})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "stack setting "), "exactly one error: %v", err)
			assert.Empty(t, st.Resources, "nothing is declared")
		})
	}
	// What a mode does not use is not checked: an ingress class is free text without an Ingress.
	_, err := load.Parse(project, load.Source{Values: map[string]string{"environment": "dev", "edge": `{"ingress": {"className": "Not A Class"}}`}})
	assert.NoError(t, err)
}
