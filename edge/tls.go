package edge

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pynomaly/pynomaly-platform/config"
	"github.com/pynomaly/pynomaly-platform/internal/kube"
	"github.com/pynomaly/pynomaly-platform/tier"
)

// CertificateName is the cert-manager Certificate of the public hosts, Grafana's too.
const CertificateName = "pynomaly-tls"

// certificate is a cert-manager Certificate of every host, written to the Secret the entry point
// terminates TLS with, from the issuer of the settings; the program creates that issuer first
// when asked to.
func (c *Edge) certificate(ctx *pulumi.Context, args *Args) error {
	e := args.Settings
	is := e.TLS.Issuer
	var opts []pulumi.ResourceOption
	if is.Create != "" {
		issuer, err := c.customResource(ctx, args, tier.CertManagerAPIVersion, "Issuer", is.Name, issuerSpec(e), nil)
		if err != nil {
			return err
		}
		opts = append(opts, kube.After([]pulumi.Resource{issuer}))
	}
	return c.custom(ctx, args, tier.CertManagerAPIVersion, "Certificate", CertificateName, map[string]any{
		"secretName": e.TLS.SecretName,
		"dnsNames":   args.hosts(),
		"issuerRef":  map[string]any{"group": "cert-manager.io", "kind": is.Kind, "name": is.Name},
		// A new key at every renewal: a leaked key expires with its certificate.
		"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
	}, opts...)
}

// issuerSpec is the issuer the program creates: self-signed, or ACME with its HTTP-01 challenge
// answered through the entry point itself (the ingress class, or the Gateway's HTTP listener).
func issuerSpec(e config.Edge) map[string]any {
	is := e.TLS.Issuer
	if is.Create == config.CreateSelfSigned {
		return map[string]any{"selfSigned": map[string]any{}}
	}
	solver := map[string]any{"ingress": map[string]any{"ingressClassName": e.Ingress.ClassName}}
	if e.Entry == config.EntryGateway {
		solver = map[string]any{"gatewayHTTPRoute": map[string]any{"parentRefs": []any{map[string]any{
			"name": GatewayName, "kind": "Gateway", "sectionName": "http",
		}}}}
	}
	acme := map[string]any{
		"server":              is.ACMEServer,
		"privateKeySecretRef": map[string]any{"name": is.Name + "-account-key"},
		"solvers":             []any{map[string]any{"http01": solver}},
	}
	if is.ACMEEmail != "" {
		acme["email"] = is.ACMEEmail
	}
	return map[string]any{"acme": acme}
}
