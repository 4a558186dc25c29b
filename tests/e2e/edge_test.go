//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The edge tier's entry points against the real API server, with the real CustomResourceDefinitions
// of cert-manager, the Gateway API (standard channel) and Envoy Gateway, read from the Go module
// cache by scripts/crds.sh: each stack is deployed with edge.entry ingress, then switched to
// gateway, each update followed by a no-change preview. The API server validates every object
// against the CRDs' schemas and CEL rules; no controller runs, so nothing is issued or routed.
func TestEdge(t *testing.T) {
	installCRDs(t, "edge", edgeCRDs)
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) { edgeLifecycle(t, env) })
	}
}

// edgeCRDs are the definitions the edge's objects need; the script installs others of the same
// groups too.
var edgeCRDs = []string{
	"certificates.cert-manager.io", "issuers.cert-manager.io",
	"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
	"backendtrafficpolicies.gateway.envoyproxy.io",
}

// installCRDs applies the manifests scripts/crds.sh lists for set, straight from the Go module
// cache, and waits until the definitions in wait are established.
func installCRDs(t *testing.T, set string, wait []string) {
	start := time.Now()
	out, err := exec.Command("bash", filepath.Join(repo, "scripts", "crds.sh"), set).Output()
	require.NoError(t, err, "scripts/crds.sh %s: %s", set, errText(err))
	files := strings.Fields(string(out))
	require.NotEmpty(t, files)
	args := []string{"apply", "--server-side", "--force-conflicts", "--field-manager", "pynomaly-e2e"}
	for _, f := range files {
		require.True(t, strings.Contains(f, "/pkg/mod/"), "%s is not in the module cache", f)
		args = append(args, "-f", f)
	}
	mustKubectl(t, args...)
	mustKubectl(t, append([]string{"wait", "--for=condition=Established", "--timeout=60s", "crd"}, wait...)...)
	t.Logf("installed %d %s CRD manifests in %v", len(files), set, time.Since(start).Round(100*time.Millisecond))
}

func edgeLifecycle(t *testing.T, env string) {
	p, done := clusterProject(t, env)
	p.must("config", "set", "--path", "edge.hosts[0]", "api.pynomaly.test")

	p.must("config", "set", "--path", "edge.entry", "ingress")
	p.must("up", "--yes", "--skip-preview")
	assert.Equal(t, "pynomaly-tls", objectField(t, "ingress", "pynomaly-ingress", "{.spec.tls[0].secretName}"))
	assert.Equal(t, "pynomaly-nginx-service", objectField(t, "ingress", "pynomaly-ingress", "{.spec.rules[0].http.paths[0].backend.service.name}"))
	checkEdgeCommon(t, env)
	p.must("preview", "--expect-no-changes")

	p.must("config", "set", "--path", "edge.entry", "gateway")
	p.must("up", "--yes", "--skip-preview")
	assert.Equal(t, "https", objectField(t, "gateway", "pynomaly-gateway", "{.spec.listeners[1].name}"))
	assert.Equal(t, "pynomaly-tls", objectField(t, "gateway", "pynomaly-gateway", "{.spec.listeners[1].tls.certificateRefs[0].name}"))
	assert.Equal(t, "api.pynomaly.test", objectField(t, "httproute", "pynomaly-nginx", "{.spec.hostnames[0]}"))
	assert.Equal(t, "Distinct", objectField(t, "backendtrafficpolicy", "pynomaly-nginx", "{.spec.rateLimit.local.rules[0].clientSelectors[0].sourceCIDR.type}"))
	assert.Equal(t, "100", objectField(t, "backendtrafficpolicy", "pynomaly-nginx", "{.spec.rateLimit.local.rules[0].limit.requests}"))
	out, err := kubectl(t, "-n", namespace, "get", "ingress", "pynomaly-ingress")
	assert.Error(t, err, "the Ingress is gone in gateway mode")
	assert.Contains(t, out, "NotFound")
	checkEdgeCommon(t, env)
	p.must("preview", "--expect-no-changes")

	destroy(t, p, env)
	done()
}

// checkEdgeCommon: Nginx runs at the profile's replicas, and the certificate names its issuer.
func checkEdgeCommon(t *testing.T, env string) {
	replicas := map[string]string{"dev": "1", "staging": "2", "prod": "3"}[env]
	assert.Equal(t, replicas+"/"+replicas, objectField(t, "deployment", "pynomaly-nginx", "{.status.readyReplicas}/{.spec.replicas}"))
	issuer := objectField(t, "certificate", "pynomaly-tls", "{.spec.issuerRef.name}")
	assert.Equal(t, map[string]string{"dev": "pynomaly-selfsigned", "staging": "pynomaly-letsencrypt-staging", "prod": "pynomaly-letsencrypt"}[env], issuer)
	assert.Equal(t, issuer, objectField(t, "issuer", issuer, "{.metadata.name}"))
	assert.Equal(t, "ClientIP", objectField(t, "service", "pynomaly-nginx-service", "{.spec.sessionAffinity}"))
}

// objectField reads one field of a namespaced object.
func objectField(t *testing.T, kind, name, jsonpath string) string {
	t.Helper()
	return mustKubectl(t, "-n", namespace, "get", kind, name, "-o", "jsonpath="+jsonpath)
}
