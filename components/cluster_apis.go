package components

import "github.com/pynomaly/pynomaly-platform/config"

// ClusterAPI is an API that another project installs in the cluster (cert-manager, the Gateway
// API and its implementations, the Prometheus Operator) and that a tier declares objects of.
// The cluster preflight (platform/preflight.go) checks each one before anything is declared.
type ClusterAPI struct {
	GroupVersion, Resource string
	// Project is what to install when the cluster lacks it.
	Project string
}

// EdgeAPIs are the APIs the edge tier declares objects of with settings e.
func EdgeAPIs(e config.Edge) []ClusterAPI {
	var apis []ClusterAPI
	if e.TLSOn() {
		apis = append(apis, ClusterAPI{certManagerAPIVersion, "certificates", "cert-manager"})
		if e.TLS.Issuer.Create != "" {
			apis = append(apis, ClusterAPI{certManagerAPIVersion, "issuers", "cert-manager"})
		}
	}
	if e.Entry != config.EntryGateway {
		return apis
	}
	apis = append(apis,
		ClusterAPI{gatewayAPIVersion, "gateways", "the Gateway API (standard channel)"},
		ClusterAPI{gatewayAPIVersion, "httproutes", "the Gateway API (standard channel)"})
	if e.Gateway.Implementation == config.EnvoyGateway {
		return append(apis, ClusterAPI{envoyGatewayAPIVersion, "backendtrafficpolicies", "Envoy Gateway"})
	}
	return append(apis,
		ClusterAPI{nginxGatewayAPIVersion, "ratelimitpolicies", "NGINX Gateway Fabric"},
		ClusterAPI{nginxGatewayAPIVersion, "upstreamsettingspolicies", "NGINX Gateway Fabric"})
}

// MonitoringAPIs are the APIs the monitoring tier declares objects of: the Prometheus
// Operator's, in operator mode.
func MonitoringAPIs(operator bool) []ClusterAPI {
	if !operator {
		return nil
	}
	return []ClusterAPI{
		{monitoringAPIVersion, "podmonitors", "the Prometheus Operator"},
		{monitoringAPIVersion, "prometheusrules", "the Prometheus Operator"},
	}
}

// InternalTLSAPIs are the APIs of the internal CA and the servers' certificates: issuers too
// when the program creates its own CA.
func InternalTLSAPIs(t config.InternalTLS) []ClusterAPI {
	if !t.Internal {
		return nil
	}
	apis := []ClusterAPI{{certManagerAPIVersion, "certificates", "cert-manager"}}
	if t.Issuer.Name == "" {
		apis = append(apis, ClusterAPI{certManagerAPIVersion, "issuers", "cert-manager"})
	}
	return apis
}
