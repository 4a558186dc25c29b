package foundation

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// Names of the internal CA. The root is self-signed by a namespaced Issuer; the CA Issuer signs
// every server's certificate with it.
const (
	internalRootIssuer = "pynomaly-internal-root"
	internalCAName     = "pynomaly-internal-ca"
	// Server certificates last 90 days and are renewed 30 days before they expire.
	serverCertDuration    = "2160h"
	serverCertRenewBefore = "720h"
)

// InternalTLSArgs configures the internal CA and the servers' certificates.
type InternalTLSArgs struct {
	tier.Context
	Settings config.InternalTLS
	Servers  []tier.TLSServer
}

// InternalTLS is the internal CA (or the issuer the settings name) and a cert-manager
// Certificate per server. Off, it declares nothing and every connection stays plain.
type InternalTLS struct {
	pulumi.ResourceState
	tier.OutputSet
	On bool
	// Certificates are what the servers' pods wait for.
	Certificates []pulumi.Resource
}

// NewInternalTLS creates the CA, its Issuer and a Certificate per server.
func NewInternalTLS(ctx *pulumi.Context, name string, args *InternalTLSArgs, opts ...pulumi.ResourceOption) (*InternalTLS, error) {
	c := &InternalTLS{On: args.Settings.Internal}
	if err := ctx.RegisterComponentResource(tier.Type("InternalTLS"), name, c, opts...); err != nil {
		return nil, err
	}
	if !c.On {
		c.Keep(pulumi.Map{})
		return c, nil
	}
	issuer, after, err := c.issuer(ctx, args)
	if err != nil {
		return nil, err
	}
	for _, s := range args.Servers {
		spec := args.Namespace.ToStringOutput().ApplyT(func(ns string) map[string]any {
			return certificateSpec(s, ns, issuer)
		})
		if err := c.certificate(ctx, args.Namespace, s.SecretName(), spec, after); err != nil {
			return nil, err
		}
	}
	// A certificate of no host, only for its ca.crt.
	if err := c.certificate(ctx, args.Namespace, tier.InternalTrustSecret, pulumi.ToOutput(map[string]any{
		"secretName": tier.InternalTrustSecret, "commonName": tier.InternalTrustSecret,
		"duration": serverCertDuration, "renewBefore": serverCertRenewBefore, "usages": []any{"client auth"},
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}, "issuerRef": issuer,
	}), after); err != nil {
		return nil, err
	}
	c.Keep(pulumi.Map{})
	return c, nil
}

func (c *InternalTLS) certificate(ctx *pulumi.Context, ns pulumi.StringInput, name string, spec pulumi.Output, after []pulumi.Resource) error {
	cert, err := c.resource(ctx, ns, "Certificate", name, spec, kube.After(after))
	if err == nil {
		c.Certificates = append(c.Certificates, cert)
	}
	return err
}

// issuer is the issuerRef of the servers' certificates: the one the settings name, or the
// program's CA: a self-signed Issuer signs a CA Certificate whose Secret a CA Issuer signs with.
func (c *InternalTLS) issuer(ctx *pulumi.Context, args *InternalTLSArgs) (map[string]any, []pulumi.Resource, error) {
	if is := args.Settings.Issuer; is.Name != "" {
		return map[string]any{"group": "cert-manager.io", "kind": is.Kind, "name": is.Name}, nil, nil
	}
	root, err := c.resource(ctx, args.Namespace, "Issuer", internalRootIssuer, pulumi.ToOutput(map[string]any{"selfSigned": map[string]any{}}))
	if err != nil {
		return nil, nil, err
	}
	ca, err := c.resource(ctx, args.Namespace, "Certificate", internalCAName, pulumi.ToOutput(map[string]any{
		"isCA": true, "commonName": "Pynomaly internal CA", "secretName": internalCAName,
		// Ten years, renewed one before: servers' certificates are what rotate often.
		"duration": "87600h", "renewBefore": "8760h",
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256},
		"issuerRef":  map[string]any{"group": "cert-manager.io", "kind": "Issuer", "name": internalRootIssuer},
	}), kube.After([]pulumi.Resource{root}))
	if err != nil {
		return nil, nil, err
	}
	issuer, err := c.resource(ctx, args.Namespace, "Issuer", internalCAName, pulumi.ToOutput(map[string]any{
		"ca": map[string]any{"secretName": internalCAName},
	}), kube.After([]pulumi.Resource{ca}))
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"group": "cert-manager.io", "kind": "Issuer", "name": internalCAName}, []pulumi.Resource{issuer}, nil
}

// certificateSpec is a server's certificate: every name its clients use, for server and client
// authentication (PostgreSQL replicas and Redis replicas are clients of their primary too).
func certificateSpec(s tier.TLSServer, ns string, issuer map[string]any) map[string]any {
	names := make([]any, 0)
	for _, n := range s.DNSNames(ns) {
		names = append(names, n)
	}
	return map[string]any{
		"secretName": s.SecretName(), "commonName": s.Hosts[0], "dnsNames": names,
		"duration": serverCertDuration, "renewBefore": serverCertRenewBefore,
		"usages": []any{"server auth", "client auth", "digital signature", "key encipherment"},
		// A new key at every renewal; PKCS#8 for every server's parser.
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256, "encoding": "PKCS8", "rotationPolicy": "Always"},
		"issuerRef":  issuer,
	}
}

func (c *InternalTLS) resource(ctx *pulumi.Context, ns pulumi.StringInput, kind, name string, spec pulumi.Output, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	r, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(tier.CertManagerAPIVersion),
		Kind:        pulumi.String(kind),
		Metadata:    kube.ObjectMeta(ctx, ns, name, "tls"),
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, append([]pulumi.ResourceOption{pulumi.Parent(c)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("internal tls: %s %s: %w", kind, name, err)
	}
	return r, nil
}

// InternalTLSAPIs are the APIs of the internal CA and the servers' certificates: issuers too
// when the program creates its own CA.
func InternalTLSAPIs(t config.InternalTLS) []tier.ClusterAPI {
	if !t.Internal {
		return nil
	}
	apis := []tier.ClusterAPI{{GroupVersion: tier.CertManagerAPIVersion, Resource: "certificates", Project: "cert-manager"}}
	if t.Issuer.Name == "" {
		apis = append(apis, tier.ClusterAPI{GroupVersion: tier.CertManagerAPIVersion, Resource: "issuers", Project: "cert-manager"})
	}
	return apis
}
