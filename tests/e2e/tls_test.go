//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// checkInternalTLS: with tls.internal (staging, prod) the API server accepted the internal CA's
// Issuers and a Certificate per server against cert-manager's schemas, each naming the pods
// behind the headless Service; in dev there are none. No controller runs, so nothing is issued.
func checkInternalTLS(t *testing.T, env string) {
	t.Helper()
	certs := mustKubectl(t, "-n", namespace, "get", "certificates", "-o", "jsonpath={.items[*].metadata.name}")
	if env == "dev" {
		assert.NotContains(t, certs, "pynomaly-postgres-tls", "dev runs without internal TLS")
		return
	}
	for _, name := range []string{"pynomaly-internal-ca", "pynomaly-internal-trust", "pynomaly-postgres-tls",
		"pynomaly-postgres-pooler-tls", "pynomaly-redis-queue-tls", "pynomaly-redis-cache-tls", "pynomaly-influxdb-tls"} {
		assert.Contains(t, strings.Fields(certs), name, env)
	}
	assert.Equal(t, "pynomaly-internal-ca", objectField(t, "issuer", "pynomaly-internal-ca", "{.spec.ca.secretName}"))
	assert.Equal(t, "pynomaly-internal-ca", objectField(t, "certificate", "pynomaly-postgres-tls", "{.spec.issuerRef.name}"))
	names := objectField(t, "certificate", "pynomaly-postgres-tls", "{.spec.dnsNames}")
	assert.Contains(t, names, "pynomaly-postgres-1.pynomaly-postgres-headless."+namespace+".svc", env)
	assert.Contains(t, mustKubectl(t, "-n", namespace, "get", "statefulset", "pynomaly-postgres", "-o", "jsonpath={.spec.template.spec.volumes[*].secret.secretName}"),
		"pynomaly-postgres-tls")
}
