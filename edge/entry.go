package edge

import (
	"fmt"
	"maps"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names of the entry point's objects.
const (
	IngressName = "pynomaly-ingress"
	GatewayName = "pynomaly-gateway"
	RouteName   = "pynomaly-nginx"
	// GrafanaEntryName is the Ingress or HTTPRoute of Grafana's host (grafana.host): an object of
	// its own, so that no rate limit of the API's reaches it.
	GrafanaEntryName  = "pynomaly-grafana"
	edgeRedirectName  = "pynomaly-https-redirect"
	edgePolicyName    = "pynomaly-nginx"
	gatewayAPIVersion = "gateway.networking.k8s.io/v1"
	// The implementations' own policy APIs.
	envoyGatewayAPIVersion = "gateway.envoyproxy.io/v1alpha1"
	nginxGatewayAPIVersion = "gateway.nginx.org/v1alpha1"
)

// entry declares how traffic from outside reaches Nginx, and its certificate. Each entry point
// also keeps a client on one Nginx replica (entry points pick pods themselves, past the
// Service's affinity), so that replica's rate limit is the client's whole budget.
func (c *Edge) entry(ctx *pulumi.Context, args *Args) error {
	e := args.Settings
	if !e.Exposed() {
		return nil
	}
	scheme := "http"
	if e.TLSOn() {
		if err := c.certificate(ctx, args); err != nil {
			return err
		}
		c.TLSSecretName, scheme = e.TLS.SecretName, "https"
	}
	c.URL = pulumi.Sprintf("%s://%s", scheme, e.Hosts[0])
	if e.Entry == config.EntryIngress {
		return c.ingress(ctx, args)
	}
	return c.gateway(ctx, args)
}

// ingress is an Ingress of the class from the settings, TLS from the certificate's Secret (not
// cert-manager's annotations, which would make a second certificate for it); Grafana's host has an
// Ingress of its own, since a controller's annotations hold for every rule of their Ingress.
func (c *Edge) ingress(ctx *pulumi.Context, args *Args) error {
	e := args.Settings
	if err := c.newIngress(ctx, args, IngressName, e.Hosts, controllerAnnotations(e, true)); err != nil {
		return err
	}
	if g := args.Grafana.Host; g != "" {
		return c.newIngress(ctx, args, GrafanaEntryName, []string{g}, controllerAnnotations(e, false))
	}
	return nil
}

// newIngress is an Ingress of hosts to Nginx's Service, with the controller's annotations.
func (c *Edge) newIngress(ctx *pulumi.Context, args *Args, name string, hosts []string, controller map[string]string) error {
	e := args.Settings
	meta := kube.ObjectMeta(ctx, args.Namespace, name, "nginx")
	annotations := map[string]string{
		// Not every controller publishes an address in the Ingress status (and a cluster may
		// have no controller yet): awaiting one would hold `pulumi up` for ten minutes.
		"pulumi.com/skipAwait": "true",
	}
	maps.Copy(annotations, controller)
	maps.Copy(annotations, DNSAnnotations(e, hosts, args.Unpublished))
	meta.Annotations = pulumi.ToStringMap(annotations)
	var rules networkingv1.IngressRuleArray
	for _, h := range hosts {
		rules = append(rules, &networkingv1.IngressRuleArgs{Host: pulumi.String(h), Http: &networkingv1.HTTPIngressRuleValueArgs{
			Paths: networkingv1.HTTPIngressPathArray{&networkingv1.HTTPIngressPathArgs{
				Path: pulumi.String("/"), PathType: pulumi.String("Prefix"),
				Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
					Name: c.ServiceName, Port: &networkingv1.ServiceBackendPortArgs{Name: pulumi.String("http")},
				}},
			}},
		}})
	}
	spec := &networkingv1.IngressSpecArgs{IngressClassName: pulumi.String(e.Ingress.ClassName), Rules: rules}
	if e.TLSOn() {
		spec.Tls = networkingv1.IngressTLSArray{&networkingv1.IngressTLSArgs{
			Hosts: pulumi.ToStringArray(hosts), SecretName: pulumi.String(e.TLS.SecretName),
		}}
	}
	if _, err := networkingv1.NewIngress(ctx, name, &networkingv1.IngressArgs{Metadata: meta, Spec: spec}, pulumi.Parent(c)); err != nil {
		return fmt.Errorf("edge: ingress %s: %w", name, err)
	}
	return nil
}

// controllerAnnotations are the controller's body size and timeouts where the class supports
// them, and with limited the controller-level limit and client affinity: the community
// ingress-nginx controller's annotations for class nginx (retired in March 2026, still common).
// Its burst is a multiple of the rate, so 1 is the closest to the seed's; it answers 503, not
// 429, unless its ConfigMap sets limit-req-status-code.
func controllerAnnotations(e config.Edge, limited bool) map[string]string {
	if e.Ingress.ClassName != "nginx" {
		return nil
	}
	const p = "nginx.ingress.kubernetes.io/"
	a := map[string]string{
		// The controller's default (1m) would refuse uploads Nginx accepts.
		p + "proxy-body-size":       e.ClientMaxBodySize,
		p + "proxy-connect-timeout": fmt.Sprint(e.Timeouts.ConnectSeconds),
		p + "proxy-read-timeout":    fmt.Sprint(e.Timeouts.ReadSeconds),
		p + "proxy-send-timeout":    fmt.Sprint(e.Timeouts.SendSeconds),
	}
	if limited {
		a[p+"limit-rpm"] = fmt.Sprint(e.RateLimit.RequestsPerMinute)
		a[p+"limit-burst-multiplier"] = "1"
		a[p+"upstream-hash-by"] = "$remote_addr"
	}
	return a
}

// gateway is a Gateway of the class from the settings (HTTPS with the certificate, and HTTP for
// ACME challenges and the redirect), the HTTPRoute to Nginx, and the implementation's policy.
func (c *Edge) gateway(ctx *pulumi.Context, args *Args) error {
	e := args.Settings
	listeners := []any{map[string]any{"name": "http", "port": 80, "protocol": "HTTP"}}
	section := "http"
	if e.TLSOn() {
		section = "https"
		listeners = append(listeners, map[string]any{
			"name": "https", "port": 443, "protocol": "HTTPS",
			"tls": map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"kind": "Secret", "name": e.TLS.SecretName}}},
		})
	}
	gateway := map[string]any{"gatewayClassName": e.Gateway.ClassName, "listeners": listeners}
	if lb := e.Gateway.LoadBalancerAnnotations; len(lb) > 0 {
		// The implementation copies them onto the load balancer Service it creates for the
		// Gateway (the cloud's kind of load balancer, its scheme, its health check).
		gateway["infrastructure"] = map[string]any{"annotations": lb}
	}
	if err := c.custom(ctx, args, gatewayAPIVersion, "Gateway", GatewayName, gateway); err != nil {
		return err
	}
	rule := map[string]any{
		"matches":     []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
		"backendRefs": []any{map[string]any{"name": NginxServiceName, "port": NginxServicePort}},
		// Envoy's default route timeout (15 s) would cut requests Nginx still waits for.
		"timeouts": map[string]any{"request": fmt.Sprintf("%ds", e.Timeouts.ConnectSeconds+e.Timeouts.SendSeconds+e.Timeouts.ReadSeconds)},
	}
	if err := c.route(ctx, args, RouteName, section, e.Hosts, rule); err != nil {
		return err
	}
	// Grafana's host: the same way to Nginx, in a route of its own, which the policies of the
	// per-client limit do not name.
	if g := args.Grafana.Host; g != "" {
		if err := c.route(ctx, args, GrafanaEntryName, section, []string{g}, rule); err != nil {
			return err
		}
	}
	if e.TLSOn() {
		redirect := map[string]any{"filters": []any{map[string]any{
			"type": "RequestRedirect", "requestRedirect": map[string]any{"scheme": "https", "statusCode": 301},
		}}}
		if err := c.route(ctx, args, edgeRedirectName, "http", args.hosts(), redirect); err != nil {
			return err
		}
	}
	return c.gatewayPolicies(ctx, args)
}

// route is an HTTPRoute of hosts through the Gateway's listener section, annotated for
// external-dns.
func (c *Edge) route(ctx *pulumi.Context, args *Args, name, section string, hosts []string, rule map[string]any) error {
	_, err := c.customResource(ctx, args, gatewayAPIVersion, "HTTPRoute", name, map[string]any{
		"parentRefs": []any{map[string]any{"name": GatewayName, "sectionName": section}},
		"hostnames":  hosts,
		"rules":      []any{rule},
	}, DNSAnnotations(args.Settings, hosts, args.Unpublished))
	return err
}

// DNSAnnotations are what an external-dns installation reads on an Ingress or HTTPRoute of the
// entry point (edge.dns.externalDns): its hosts to publish, pointed at the entry point's load
// balancer, and the records' TTL. None when off. Unpublished, external-dns is told to ignore the
// object (a controller other than its own), which it would otherwise publish from its hosts
// alone.
func DNSAnnotations(e config.Edge, hosts []string, unpublished bool) map[string]string {
	if unpublished {
		return map[string]string{ExternalDNSControllerAnnotation: UnpublishedController}
	}
	if !e.DNS.ExternalDNS {
		return nil
	}
	return map[string]string{
		"external-dns.alpha.kubernetes.io/hostname": strings.Join(hosts, ","),
		"external-dns.alpha.kubernetes.io/ttl":      fmt.Sprint(e.DNS.TTLSeconds),
	}
}

// external-dns skips an Ingress or route whose controller annotation names another controller
// than its own (dns-controller).
const (
	ExternalDNSControllerAnnotation = "external-dns.alpha.kubernetes.io/controller"
	UnpublishedController           = "pynomaly-standby"
)

// gatewayPolicies carry what the standard Gateway API cannot say: the per-client limit at the
// Gateway, and hashing each client address to one Nginx replica.
func (c *Edge) gatewayPolicies(ctx *pulumi.Context, args *Args) error {
	e := args.Settings
	route := []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": RouteName}}
	if e.Gateway.Implementation == config.EnvoyGateway {
		return c.custom(ctx, args, envoyGatewayAPIVersion, "BackendTrafficPolicy", edgePolicyName, envoyGatewayPolicy(e, route))
	}
	rl := e.RateLimit
	if err := c.custom(ctx, args, nginxGatewayAPIVersion, "RateLimitPolicy", edgePolicyName, map[string]any{
		"targetRefs": route,
		"rateLimit": map[string]any{"local": map[string]any{"rules": []any{map[string]any{
			"key": "$binary_remote_addr", "rate": NginxRate(rl), "burst": rl.Burst, "noDelay": true,
			"rejectCode": 429, "zoneSize": "10m",
		}}}},
	}); err != nil {
		return err
	}
	return c.custom(ctx, args, nginxGatewayAPIVersion, "UpstreamSettingsPolicy", edgePolicyName, map[string]any{
		"targetRefs":          []any{map[string]any{"group": "", "kind": "Service", "name": NginxServiceName}},
		"loadBalancingMethod": "hash consistent",
		"hashMethodKey":       "$binary_remote_addr",
	})
}

// envoyGatewayPolicy is Envoy Gateway's BackendTrafficPolicy: a local limit per distinct client
// address (IPv4 and IPv6; each Envoy replica counts its own, since Envoy Gateway 1.4) and a
// consistent hash of the source address onto the Nginx pods. The rule's bucket holds the
// per-minute budget; Nginx shapes the burst. type is deprecated since 1.8 but required before.
func envoyGatewayPolicy(e config.Edge, route []any) map[string]any {
	var rules []any
	for _, cidr := range []string{"0.0.0.0/0", "::/0"} {
		rules = append(rules, map[string]any{
			"clientSelectors": []any{map[string]any{"sourceCIDR": map[string]any{"type": "Distinct", "value": cidr}}},
			"limit":           map[string]any{"requests": e.RateLimit.RequestsPerMinute, "unit": "Minute"},
		})
	}
	return map[string]any{
		"targetRefs":   route,
		"rateLimit":    map[string]any{"type": "Local", "local": map[string]any{"rules": rules}},
		"loadBalancer": map[string]any{"type": "ConsistentHash", "consistentHash": map[string]any{"type": "SourceIP"}},
	}
}

// custom declares a custom resource of the edge (a Gateway API object, a policy, cert-manager's):
// a plain resource whose every input the engine and the tests see.
func (c *Edge) custom(ctx *pulumi.Context, args *Args, apiVersion, kind, name string, spec map[string]any, opts ...pulumi.ResourceOption) error {
	_, err := c.customResource(ctx, args, apiVersion, kind, name, spec, nil, opts...)
	return err
}

// customResource declares a custom resource of the edge with annotations (none: nil).
func (c *Edge) customResource(ctx *pulumi.Context, args *Args, apiVersion, kind, name string, spec map[string]any, annotations map[string]string,
	opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	meta := kube.ObjectMeta(ctx, args.Namespace, name, "nginx")
	if len(annotations) > 0 {
		meta.Annotations = pulumi.ToStringMap(annotations)
	}
	r, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(apiVersion),
		Kind:        pulumi.String(kind),
		Metadata:    meta,
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, append([]pulumi.ResourceOption{pulumi.Parent(c)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("edge: %s %s: %w", kind, name, err)
	}
	return r, nil
}

// APIs are the APIs the edge tier declares objects of with settings e.
func APIs(e config.Edge) []tier.ClusterAPI {
	var apis []tier.ClusterAPI
	if e.TLSOn() {
		apis = append(apis, tier.ClusterAPI{GroupVersion: tier.CertManagerAPIVersion, Resource: "certificates", Project: "cert-manager"})
		if e.TLS.Issuer.Create != "" {
			apis = append(apis, tier.ClusterAPI{GroupVersion: tier.CertManagerAPIVersion, Resource: "issuers", Project: "cert-manager"})
		}
	}
	if e.Entry != config.EntryGateway {
		return apis
	}
	apis = append(apis,
		tier.ClusterAPI{GroupVersion: gatewayAPIVersion, Resource: "gateways", Project: "the Gateway API (standard channel)"},
		tier.ClusterAPI{GroupVersion: gatewayAPIVersion, Resource: "httproutes", Project: "the Gateway API (standard channel)"})
	if e.Gateway.Implementation == config.EnvoyGateway {
		return append(apis, tier.ClusterAPI{GroupVersion: envoyGatewayAPIVersion, Resource: "backendtrafficpolicies", Project: "Envoy Gateway"})
	}
	return append(apis,
		tier.ClusterAPI{GroupVersion: nginxGatewayAPIVersion, Resource: "ratelimitpolicies", Project: "NGINX Gateway Fabric"},
		tier.ClusterAPI{GroupVersion: nginxGatewayAPIVersion, Resource: "upstreamsettingspolicies", Project: "NGINX Gateway Fabric"})
}
